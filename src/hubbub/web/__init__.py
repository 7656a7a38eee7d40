"""Hubbub's web app and JSON API; every route declares its permission (:mod:`hubbub.web.auth`)."""
