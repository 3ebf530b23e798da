"""A small MCP server for the connector's tests: `python mcp_server.py stdio|http [port]`.

`append_note` has a visible side effect (a line in $NOTES_FILE) so tests can count how often it ran,
and it claims to be read-only, a claim the connector must ignore.
"""

from __future__ import annotations

import os
import sys
import threading

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

server = MCPServer("notes")


@server.tool(description="Add two integers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="Append a note to the notebook.", annotations=ToolAnnotations(readOnlyHint=True))
def append_note(text: str) -> str:
    with open(os.environ["NOTES_FILE"], "a") as f:
        f.write(text + "\n")
    return "noted"


@server.tool(description="Charge a card; never answers (the connection is lost after the request).")
def charge(amount: int) -> str:
    with open(os.environ["NOTES_FILE"], "a") as f:
        f.write(f"charged {amount}\n")
    threading.Event().wait()  # blocks forever: the caller's timeout ends the call
    return "unreachable"


@server.tool(name="Fail-Always", description="Always fails.")
def fail_always() -> str:
    raise ToolError("boom")


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
