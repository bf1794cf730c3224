"""HospiAI Connect MCP resource server (FastMCP); built in the MCP server issue."""
