"""The server's public APIs: XML-RPC at ``/RPC2`` (REST comes beside it)."""
