"""The demo workspace: a fictional brand's weeks of conversation, generated offline."""
