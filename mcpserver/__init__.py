"""HospiAI Connect MCP resource server: FastMCP tools guarded by token introspection."""
