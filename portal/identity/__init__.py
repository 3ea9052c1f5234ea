"""Citizen sign-in with the national electronic identity (OpenID Connect), and the development provider."""
