"""Agencies, users and their roles; password + TOTP login, lockout and idle timeout."""
