"""Notifications: e-mails to teams and organisers, and per-challenge webhooks, sent by jobs."""
