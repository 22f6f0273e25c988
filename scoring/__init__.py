"""Scoring for Secure Base: questionnaire definitions, scoring, risk rules and results.

Pure Python on purpose: nothing here knows about HTTP or databases, so the API, the
command line and a notebook all score answers in exactly the same way.
"""
