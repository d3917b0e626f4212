"""The one connection layer every protocol shares: listeners, TLS, limits, allow-lists."""
