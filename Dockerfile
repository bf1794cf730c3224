# syntax=docker/dockerfile:1
# HospiAI Connect: one image for `hospiai authserver`, `hospiai mcpserver`, `hospiai db upgrade`
# and the provisioning commands (README "Production"). Nothing secret is built in: settings
# come from the environment at run time, secrets as files named by <NAME>_FILE.

ARG PYTHON_IMAGE=python:3.11-slim

# Builder: the virtual environment is all the final stage takes. Every dependency is a
# prebuilt wheel (psycopg's binary libpq included), so no compiler is needed here either;
# --only-binary makes a missing wheel fail the build instead of compiling.
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/hospiai
WORKDIR /src
COPY pyproject.toml ./
COPY authserver ./authserver
COPY mcpserver ./mcpserver
COPY shared ./shared
COPY hospiai ./hospiai
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/hospiai/bin/pip install --only-binary=:all: .

FROM ${PYTHON_IMAGE}
# A fixed unprivileged id (orchestrators can check runAsNonRoot); the code belongs to root,
# so the service cannot rewrite it.
RUN groupadd --system --gid 10001 hospiai \
    && useradd --system --uid 10001 --gid hospiai --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin hospiai
COPY --from=builder /opt/hospiai /opt/hospiai
ENV PATH=/opt/hospiai/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOSPIAI_AUTH_HOST=0.0.0.0 \
    HOSPIAI_MCP_HOST=0.0.0.0
USER 10001:10001
EXPOSE 9000 8000
# No HEALTHCHECK here: the port depends on the command. compose.yaml checks each service's
# /readyz with the image's own python (the slim image has no curl).
ENTRYPOINT ["hospiai"]
CMD ["--help"]
