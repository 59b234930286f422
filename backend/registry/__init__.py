"""The image registry Podium is the token server of: tokens, notifications, pinned images."""
