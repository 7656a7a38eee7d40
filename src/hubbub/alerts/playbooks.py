"""Playbooks as YAML: a trigger (alert kind and filters) and the actions to take.

Parsed from the YAML node tree rather than from plain dicts so that every problem names its
line. Templates render in Jinja2's sandbox with undefined variables refused: a playbook is
written by a manager, not a developer, and must not reach Python objects or silently print
blanks into a public reply.

```yaml
name: negative-surge
trigger:
  kind: [sentiment_shift, volume_spike]   # or "any"
  topics: [acme]                          # optional
  min_severity: medium                    # low | medium | high | critical
templates:
  holding:
    text: "We know about {{ issue }} and are on it. Updates: {{ link }}"
    approved_by: Dana (comms lead)
actions:
  - notify: {channels: [ops-slack], title: "{{ alert.topic }}: {{ alert.kind }}"}
  - open_case: {priority: high}
  - reply_draft: {template: holding, variables: {issue: "the outage", link: "https://…"}}
  - require_approval: {chain: [manager, legal]}
  - crisis_mode: {holding_statement: holding}
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import apprise
import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

from hubbub.alerts.detectors import SEVERITIES
from hubbub.core.errors import Rejected

ALERT_KINDS = ("volume_spike", "emerging_terms", "sentiment_shift", "influential_author")
ACTION_KINDS = ("notify", "open_case", "reply_draft", "require_approval", "crisis_mode")
MAX_NAME = 200

TEMPLATES = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
"""Replies and notifications are plain text, not HTML: autoescape would print &amp; to users."""


class PlaybookInvalid(Rejected):
    """A playbook refused, with every problem found, each naming its line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("bad_playbook", "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Trigger:
    """Which alerts start the playbook."""

    kinds: frozenset[str] | None
    """None: any kind."""
    topics: frozenset[str] | None
    """None: any topic. Names are checked against the workspace's topics when it is saved."""
    min_severity: str = "low"

    def matches(self, alert: Mapping[str, Any]) -> bool:
        """True when the alert (its JSON form) passes every filter."""
        if self.kinds is not None and alert.get("kind") not in self.kinds:
            return False
        if self.topics is not None and alert.get("topic") not in self.topics:
            return False
        severity = alert.get("severity", "low")
        rank = SEVERITIES.index(severity) if severity in SEVERITIES else 0
        return rank >= SEVERITIES.index(self.min_severity)


@dataclass(frozen=True)
class ReplyTemplate:
    name: str
    text: str
    approved_by: str


@dataclass(frozen=True)
class ActionSpec:
    kind: str
    params: dict[str, Any]
    line: int


@dataclass(frozen=True)
class PlaybookSpec:
    """A validated playbook."""

    name: str
    enabled: bool
    trigger: Trigger
    actions: tuple[ActionSpec, ...]
    templates: dict[str, ReplyTemplate] = field(default_factory=dict)
    description: str = ""


def render(text: str, context: Mapping[str, Any]) -> str:
    """Render a playbook template in the sandbox; an undefined variable is an error."""
    try:
        return TEMPLATES.from_string(text).render(**context)
    except jinja2.TemplateError as exc:
        raise Rejected("template_error", str(exc)) from exc


class _Reader:
    """Walks the composed YAML, turning nodes into values and problems into 'line N: …'."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def fail(self, node: yaml.Node, message: str) -> None:
        self.problems.append(f"line {node.start_mark.line + 1}: {message}")

    def mapping(
        self, node: yaml.Node, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, yaml.Node] | None:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{where} must be a mapping")
            return None
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key not in allowed:
                self.fail(
                    key_node, f"unknown key {key!r} in {where} (expected {', '.join(allowed)})"
                )
                continue
            if key in found:
                self.fail(key_node, f"{key!r} given twice in {where}")
            found[key] = value_node
        for key in required:
            if key not in found:
                self.fail(node, f"{where} needs {key!r}")
        return found

    def value(self, node: yaml.Node) -> Any:
        return self._constructor.construct_object(node, deep=True)

    def text(self, node: yaml.Node, where: str, limit: int = 100_000) -> str | None:
        value = self.value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, str) or not value.strip():
            self.fail(node, f"{where} must be non-empty text")
            return None
        if len(value) > limit:
            self.fail(node, f"{where} is longer than {limit} characters")
            return None
        return value

    def texts(self, node: yaml.Node, where: str) -> list[str] | None:
        if isinstance(node, yaml.ScalarNode):
            single = self.text(node, where)
            return None if single is None else [single]
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.fail(node, f"{where} must be text or a non-empty list of texts")
            return None
        values = [self.text(item, where) for item in node.value]
        return None if any(v is None for v in values) else [v for v in values if v is not None]

    def template(self, node: yaml.Node, where: str) -> str | None:
        text = self.text(node, where)
        if text is None:
            return None
        try:
            TEMPLATES.parse(text)
        except jinja2.TemplateSyntaxError as exc:
            self.fail(node, f"{where}: template error: {exc.message}")
            return None
        return text


def parse_playbook(source: str) -> PlaybookSpec:
    """Validate YAML `source`; `PlaybookInvalid` lists every problem with its line."""
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise PlaybookInvalid([f"{line}YAML syntax: {exc.problem or exc}"]) from exc
    except yaml.YAMLError as exc:
        raise PlaybookInvalid([f"YAML: {exc}"]) from exc
    if root is None:
        raise PlaybookInvalid(["line 1: the playbook is empty"])
    reader = _Reader()
    top = reader.mapping(
        root,
        "the playbook",
        ("name", "description", "enabled", "trigger", "templates", "actions"),
        ("name", "trigger", "actions"),
    )
    if top is None:
        raise PlaybookInvalid(reader.problems)
    name = reader.text(top["name"], "name", MAX_NAME) if "name" in top else None
    if name is not None and not name.isprintable():
        reader.fail(top["name"], "name must not contain control characters")
        name = None
    description = ""
    if "description" in top:
        description = reader.text(top["description"], "description") or ""
    enabled = True
    if "enabled" in top:
        value = reader.value(top["enabled"])
        if isinstance(value, bool):
            enabled = value
        else:
            reader.fail(top["enabled"], "enabled must be true or false")
    trigger = _trigger(reader, top["trigger"]) if "trigger" in top else None
    templates = _templates(reader, top["templates"]) if "templates" in top else {}
    actions = _actions(reader, top["actions"], templates) if "actions" in top else ()
    if reader.problems or name is None or trigger is None:
        raise PlaybookInvalid(reader.problems)
    return PlaybookSpec(
        name=name.strip(),
        enabled=enabled,
        trigger=trigger,
        actions=actions,
        templates=templates,
        description=description,
    )


def _trigger(reader: _Reader, node: yaml.Node) -> Trigger | None:
    found = reader.mapping(node, "trigger", ("kind", "topics", "min_severity"), ("kind",))
    if found is None:
        return None
    kinds: frozenset[str] | None = None
    if "kind" in found:
        listed = reader.texts(found["kind"], "trigger kind") or []
        if listed != ["any"]:
            for kind in listed:
                if kind not in ALERT_KINDS:
                    reader.fail(
                        found["kind"],
                        f"unknown alert kind {kind!r} (expected any, {', '.join(ALERT_KINDS)})",
                    )
            kinds = frozenset(listed)
    topics = None
    if "topics" in found:
        named = reader.texts(found["topics"], "trigger topics")
        topics = frozenset(named) if named is not None else None
    severity = "low"
    if "min_severity" in found:
        node = found["min_severity"]
        given = reader.value(node) if isinstance(node, yaml.ScalarNode) else None
        if given in SEVERITIES:
            severity = given
        else:
            shown = repr(given) if isinstance(node, yaml.ScalarNode) else "a list or mapping"
            reader.fail(node, f"unknown severity {shown} (expected {', '.join(SEVERITIES)})")
    return Trigger(kinds=kinds, topics=topics, min_severity=severity)


def _templates(reader: _Reader, node: yaml.Node) -> dict[str, ReplyTemplate]:
    if not isinstance(node, yaml.MappingNode):
        reader.fail(node, "templates must be a mapping of name: {text, approved_by}")
        return {}
    templates: dict[str, ReplyTemplate] = {}
    for key_node, value_node in node.value:
        name = str(reader.value(key_node))
        found = reader.mapping(value_node, f"template {name!r}", ("text", "approved_by"), ("text",))
        if found is None or "text" not in found:
            continue
        text = reader.template(found["text"], f"template {name!r}")
        if "approved_by" not in found:
            reader.fail(
                value_node,
                f"template {name!r} is not approved: add approved_by (who approved its wording)",
            )
            continue
        approver = reader.text(found["approved_by"], f"approved_by of template {name!r}")
        if text is not None and approver is not None:
            templates[name] = ReplyTemplate(name=name, text=text, approved_by=approver)
    return templates


def _actions(
    reader: _Reader, node: yaml.Node, templates: dict[str, ReplyTemplate]
) -> tuple[ActionSpec, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        reader.fail(node, "actions must be a non-empty list")
        return ()
    actions: list[ActionSpec] = []
    for item in node.value:
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode) or len(item.value) != 1:
            reader.fail(item, f"each action is one of {', '.join(ACTION_KINDS)} with its settings")
            continue
        key_node, params_node = item.value[0]
        kind = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if kind not in ACTION_KINDS:
            reader.fail(key_node, f"unknown action {kind!r} (expected {', '.join(ACTION_KINDS)})")
            continue
        params = _action_params(reader, kind, params_node, templates)
        if params is not None:
            actions.append(ActionSpec(kind=kind, params=params, line=line))
    return tuple(actions)


def _action_params(
    reader: _Reader, kind: str, node: yaml.Node, templates: dict[str, ReplyTemplate]
) -> dict[str, Any] | None:
    if kind == "open_case" and isinstance(node, yaml.ScalarNode) and not node.value:
        return {"priority": "high"}
    if kind == "notify":
        found = reader.mapping(node, "notify", ("channels", "urls", "title", "body"))
        if found is None:
            return None
        if "channels" not in found and "urls" not in found:
            reader.fail(node, "notify needs channels (names of notification channels) or urls")
            return None
        channels = reader.texts(found["channels"], "notify channels") if "channels" in found else []
        for channel in channels or []:
            if not CHANNEL_NAME.fullmatch(channel):
                reader.fail(found["channels"], f"not a channel name: {channel!r} ({CHANNEL_RULE})")
        urls = reader.texts(found["urls"], "notify urls") if "urls" in found else []
        for url in urls or []:
            plugin = apprise.Apprise.instantiate(url, asset=ASSET)
            if plugin is None:
                reader.fail(
                    found["urls"], f"not a notification URL apprise knows: {scheme_only(url)}"
                )
            elif carries_secret(plugin):
                reader.fail(
                    found["urls"],
                    f"{scheme_only(url)} URL carries a password or token: store it as a"
                    " notification channel and name it under channels",
                )
        params: dict[str, Any] = {"channels": channels or [], "urls": urls or []}
        for part in ("title", "body"):
            if part in found:
                params[part] = reader.template(found[part], f"notify {part}")
        return params
    if kind == "open_case":
        found = reader.mapping(node, "open_case", ("priority", "queue"))
        if found is None:
            return None
        values = {key: reader.text(value, f"open_case {key}") for key, value in found.items()}
        return {"priority": "high", **values}
    if kind == "reply_draft":
        found = reader.mapping(node, "reply_draft", ("template", "variables"), ("template",))
        if found is None or "template" not in found:
            return None
        name = reader.text(found["template"], "reply_draft template")
        if name is not None and name not in templates:
            reader.fail(
                found["template"], f"reply_draft names template {name!r}, which is not defined"
            )
        variables: Any = {}
        if "variables" in found:
            variables = reader.value(found["variables"])
            if not isinstance(variables, dict):
                reader.fail(found["variables"], "variables must be a mapping")
        return {"template": name, "variables": variables}
    if kind == "require_approval":
        found = reader.mapping(node, "require_approval", ("chain",), ("chain",))
        if found is None or "chain" not in found:
            return None
        return {"chain": reader.texts(found["chain"], "approval chain") or []}
    # crisis_mode
    if isinstance(node, yaml.ScalarNode) and not node.value:
        return {}
    found = reader.mapping(node, "crisis_mode", ("holding_statement",))
    if found is None:
        return None
    if "holding_statement" in found:
        name = reader.text(found["holding_statement"], "holding_statement")
        if name is not None and name not in templates:
            reader.fail(found["holding_statement"], f"holding_statement {name!r} is not a template")
        return {"holding_statement": name}
    return {}


ASSET = apprise.AppriseAsset(storage_mode="memory")
"""No apprise cache on disk: notification URLs carry secrets."""

CHANNEL_RULE = "lower-case letters, digits, - and _, at most 64, starting with a letter or digit"
CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def carries_secret(plugin: Any) -> bool:
    """Whether apprise masks part of this URL when printing it privately (a token, password).

    Only what apprise knows to be secret is found: a token hidden in a webhook's path or a
    header is not, which is why docs/alerts.md says to put every such URL in a channel.
    """
    return bool(plugin.url(privacy=True) != plugin.url(privacy=False))


def scheme_only(url: str) -> str:
    """Only the scheme of a URL that failed to parse: the rest may be a secret."""
    return url.split("://", 1)[0] + "://…" if "://" in url else "(no scheme)"
