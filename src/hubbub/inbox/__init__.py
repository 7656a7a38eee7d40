"""The engagement inbox: conversations that need an answer, their SLA, notes and replies."""
