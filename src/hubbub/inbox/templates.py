"""Saved replies: Jinja templates rendered in the sandbox, so a template written by one team
member can read the variables it is given and nothing else (no attribute walking, no imports).

Output is plain text for a network, not HTML, so it is not HTML-escaped here; whoever shows it
in a page escapes it there.
"""

from __future__ import annotations

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from hubbub.core.errors import Rejected

MAX_TEMPLATE_CHARS = 5000
VARIABLES = (
    "author_name",
    "author_handle",
    "agent_name",
    "workspace",
    "network",
    "conversation_id",
)

_ENV = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


def check_template(body: str) -> None:
    """Refuse a template that does not parse or names a variable that is never given."""
    if not body.strip():
        raise Rejected("bad_template", "a saved reply needs a body")
    if len(body) > MAX_TEMPLATE_CHARS:
        raise Rejected("bad_template", f"a saved reply has at most {MAX_TEMPLATE_CHARS} characters")
    try:
        from jinja2 import meta

        names = meta.find_undeclared_variables(_ENV.parse(body))
    except TemplateError as exc:
        raise Rejected("bad_template", f"the template does not parse: {exc}") from None
    unknown = sorted(set(names) - set(VARIABLES))
    if unknown:
        raise Rejected(
            "bad_template", f"unknown variable {unknown[0]!r}; known: {', '.join(VARIABLES)}"
        )


def render_template(body: str, variables: dict[str, str]) -> str:
    """The template filled in; any error (including a sandbox refusal) is a :class:`Rejected`."""
    check_template(body)
    try:
        text = _ENV.from_string(body).render(**variables)
    except TemplateError as exc:
        raise Rejected("bad_template", f"the template cannot be rendered: {exc}") from None
    return text.strip()
