"""The capabilities a stateless JSON server advertises."""

from __future__ import annotations

import mcp_types as mt

from mcpserver.capabilities import deliverable


def test_logging_goes_and_list_changed_is_off_where_declared() -> None:
    declared = mt.ServerCapabilities(
        logging=mt.LoggingCapability(),
        tools=mt.ToolsCapability(list_changed=True),
        resources=mt.ResourcesCapability(subscribe=False, list_changed=True),
        experimental={"x": {}},
    )
    kept = deliverable(declared)
    assert kept.logging is None and kept.prompts is None
    assert kept.tools == mt.ToolsCapability(list_changed=False)
    assert kept.resources == mt.ResourcesCapability(subscribe=False, list_changed=False)
    assert kept.experimental == {"x": {}}
