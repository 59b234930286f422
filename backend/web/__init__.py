"""The browser's side of the API: session cookies, CSRF, the offline API reference."""
