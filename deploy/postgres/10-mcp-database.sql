-- Run by the postgres image on its first start only (an empty data volume): the MCP server's
-- database, beside the authorization server's (POSTGRES_DB), owned by the same role.
CREATE DATABASE hospiai_mcp OWNER hospiai;
