"""Lint rules: placeholders, templates, dates, URLs, DOIs and verification claims."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

from kbtools.validation import unsafe_markup
from kbtools.validation.findings import Finding

_PLACEHOLDER_WORDS = ("TBD", "TODO", "FIXME", "XXX")
PLACEHOLDER = re.compile(r"\b(?:TBD|TODO|FIXME|XXX)\b")
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DOI_HOSTS = ("doi.org", "dx.doi.org", "www.doi.org")
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
#: "http" not followed by a plainly well-formed https URL (then the values are walked).
_SUSPECT_URL = re.compile(
    rf"(?i)http(?!s://{_LABEL}(?:\.{_LABEL})+(?::\d{{1,5}})?(?:[/?#][^\s'\"]*)?(?:[\s'\"]|$))")
_DATE_FIELDS = (("last_updated",), ("verification", "date"))


def lint(data: dict[str, Any], text: str, today: dt.date) -> list[Finding]:
    """Lint findings for one parsed document (a mapping)."""
    findings: list[Finding] = []
    template = data.get("status") == "template"
    if template:
        findings.append(Finding(
            "lint.template", "this card is a template (status: template)", ("status",),
            "fill it in, remove the placeholders and set status to draft or complete",
            severity="warning"))
    # The raw text is searched first: values are walked only when the text holds a placeholder,
    # a URL that is not plainly well-formed https, or a DOI field.
    check_placeholders = (not template and any(word in text for word in _PLACEHOLDER_WORDS)
                          and PLACEHOLDER.search(text) is not None)
    if check_placeholders or "doi" in text or _suspect_urls(text):
        _walk(data, [], findings, check_placeholders)
    if unsafe_markup.document_may_hold_markup(data):
        findings.extend(_unsafe_markup(data))
    for parts in _DATE_FIELDS:
        value = _get(data, parts)
        if isinstance(value, str):
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                continue  # the schema reports malformed dates
            if day > today:
                findings.append(Finding(
                    "lint.future-date", f"`{'.'.join(parts)}` {value} is in the future", parts,
                    f"use the date of the change (today is {today.isoformat()})"))
    if data.get("verified") is True:
        verification = data.get("verification")
        verification = verification if isinstance(verification, dict) else {}
        missing = [k for k in ("by", "date") if not verification.get(k)]
        if missing:
            findings.append(Finding(
                "lint.verified",
                "`verified: true` needs " + " and ".join(f"verification.{k}" for k in missing),
                ("verified",),
                "add verification.by (a role such as kb-maintainer) and verification.date, "
                "or set verified: false"))
    return findings


def _unsafe_markup(data: dict[str, Any]) -> list[Finding]:
    """``text.unsafe-markup``: one finding per value (or key) carrying live markup."""
    out = []
    for parts, value in unsafe_markup.walk_strings(data):
        what = unsafe_markup.unsafe_markup(value)
        if what:
            where = "key" if parts and parts[-1] == value else "value"
            out.append(Finding(
                "text.unsafe-markup",
                f"{where} holds {what}: `{unsafe_markup.excerpt(value)}`", parts,
                unsafe_markup.HINT))
    return out


def _suspect_urls(text: str) -> bool:
    return _SUSPECT_URL.search(text) is not None


def _get(data: Any, parts: tuple[str, ...]) -> Any:
    for part in parts:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _walk(value: Any, parts: list[str | int], out: list[Finding], placeholders: bool) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            parts.append(key)
            if isinstance(item, str):
                _check_string(item, parts, out, placeholders)
            else:
                _walk(item, parts, out, placeholders)
            parts.pop()
    elif isinstance(value, list):
        for index, item in enumerate(value):
            parts.append(index)
            if isinstance(item, str):
                _check_string(item, parts, out, placeholders)
            else:
                _walk(item, parts, out, placeholders)
            parts.pop()


def _check_string(value: str, parts: list[str | int], out: list[Finding],
                  placeholders: bool) -> None:
    if placeholders:
        match = PLACEHOLDER.search(value)
        if match:
            out.append(Finding("lint.todo", f"placeholder `{match.group()}` left in a value",
                               tuple(parts), "write the real value, or leave the field out"))
    if value[:4].lower() == "http" and value[4:7].lower() in ("://", "s:/"):
        # A value that starts with a URL: the URL is its first word (the rest may describe it,
        # as in verification sources: "https://host/page (README)").
        out.extend(_check_url(value.split(None, 1)[0], tuple(parts)))
    elif parts[-1] == "doi" and not DOI.match(value):
        out.append(_doi_finding(value, tuple(parts)))


def _check_url(url: str, parts: tuple[str | int, ...]) -> list[Finding]:
    problem = url_problem(url)
    if problem:
        return [Finding("lint.url", f"malformed URL `{url}`: {problem}", parts,
                        "write the full URL, like https://host/path, without spaces")]
    out = []
    if url[:5].lower() == "http:":
        out.append(Finding("lint.https", f"`{url}` uses http", parts,
                           "use https:// if the site supports it", severity="warning"))
    split = urlsplit(url)
    if split.hostname in _DOI_HOSTS and not DOI.match(split.path.lstrip("/")):
        out.append(Finding("lint.doi", f"`{url}` does not contain a DOI (10.NNNN/suffix)",
                           parts, "check the DOI on the publisher's page"))
    return out


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a well-formed http(s) URL, or None if it is."""
    if any(ch.isspace() for ch in url):
        return "contains whitespace"
    if url.rstrip("/").lower() in ("http:", "https:"):
        return "no host name"
    try:
        split = urlsplit(url)
        split.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return str(exc)
    if split.scheme.lower() not in ("http", "https"):
        return "scheme is not http or https"
    host = split.hostname or ""
    if not host:
        return "no host name"
    if host != "localhost" and "." not in host:
        return f"host `{host}` has no domain"
    if ":" not in host and (not _HOST.fullmatch(host) or ".." in host):
        return f"host `{host}` is not a valid name"
    return None


def _doi_finding(value: str, parts: tuple[str | int, ...]) -> Finding:
    bare = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", value, flags=re.I)
    hint = (f"write it bare: {bare}" if bare != value and DOI.match(bare)
            else "a DOI looks like 10.1234/abcd")
    return Finding("lint.doi", f"`{value}` is not a bare DOI (10.NNNN/suffix)", parts, hint)
