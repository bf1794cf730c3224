// Passkeys (WebAuthn): the one script of HospiAI Connect, on the pages that offer a passkey.
// A form marked data-passkey="create" (register) or "get" (sign in) asks the server for the
// ceremony's options (data-passkey-options), the browser for the credential, and posts it as
// the hidden field "credential": the server answers the form as it answers any other. A
// browser without WebAuthn sees why (data-passkey-unsupported) and every other form still works.
"use strict";

(function () {
  const supported = typeof window.PublicKeyCredential === "function" &&
    navigator.credentials !== undefined;
  for (const note of document.querySelectorAll("[data-passkey-no-script]")) {
    note.hidden = true;
  }
  for (const note of document.querySelectorAll("[data-passkey-unsupported]")) {
    note.hidden = supported;
  }
  if (!supported) {
    return;
  }

  function bytes(text) {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (character) => character.charCodeAt(0));
  }

  function text(buffer) {
    if (buffer === null || buffer === undefined) {
      return undefined;
    }
    let binary = "";
    for (const byte of new Uint8Array(buffer)) {
      binary += String.fromCharCode(byte);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map((item) => Object.assign({}, item, { id: bytes(item.id) }));
  }

  // The JSON options as WebAuthn takes them: every binary value as bytes.
  function publicKey(kind, options) {
    const converted = Object.assign({}, options, { challenge: bytes(options.challenge) });
    if (kind === "create") {
      converted.user = Object.assign({}, options.user, { id: bytes(options.user.id) });
      converted.excludeCredentials = descriptors(options.excludeCredentials);
    } else {
      converted.allowCredentials = descriptors(options.allowCredentials);
    }
    return converted;
  }

  // The credential as py_webauthn reads it (WebAuthn Level 3's JSON form).
  function serialised(credential) {
    const response = credential.response;
    const json = {
      clientDataJSON: text(response.clientDataJSON),
    };
    if (response.attestationObject) {
      json.attestationObject = text(response.attestationObject);
      json.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.authenticatorData = text(response.authenticatorData);
      json.signature = text(response.signature);
      json.userHandle = text(response.userHandle);
    }
    return JSON.stringify({
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      response: json,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    });
  }

  // The page's texts, in its language (templates/passkey.html): data-unavailable and the rest.
  function phrase(form, name) {
    const error = form.parentElement.querySelector("[data-passkey-error]");
    return error ? error.dataset[name] : "";
  }

  function say(form, message) {
    const error = form.parentElement.querySelector("[data-passkey-error]");
    if (error) {
      error.textContent = message;
      error.hidden = message === "";
    }
  }

  async function ceremony(form) {
    const kind = form.dataset.passkey;
    const body = new URLSearchParams({ csrf_token: form.elements.csrf_token.value });
    const answer = await fetch(form.dataset.passkeyOptions, {
      method: "POST", body: body, credentials: "same-origin",
    });
    if (!answer.ok) {
      say(form, phrase(form, "unavailable"));
      return;
    }
    const options = { publicKey: publicKey(kind, await answer.json()) };
    let credential;
    try {
      credential = await (kind === "create"
        ? navigator.credentials.create(options)
        : navigator.credentials.get(options));
    } catch (error) {
      say(form, error.name === "InvalidStateError"
        ? phrase(form, "duplicate")
        : phrase(form, "cancelled"));
      return;
    }
    form.elements.credential.value = serialised(credential);
    form.submit();
  }

  for (const form of document.querySelectorAll("form[data-passkey]")) {
    form.hidden = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      say(form, "");
      ceremony(form).catch(() => say(form, phrase(form, "failed")));
    });
  }
})();
