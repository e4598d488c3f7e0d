"""The W3C Feed Validation Service rules (docs/feeds.md: valid everywhere), checked locally.

Each ``check_*`` function returns a list of problems named after the validator's messages
(``MissingAtomSelfLink``, ``ContainsRelRef``, ``SecurityRisk``…); a published file must give
an empty list. HTML fields are parsed the way the validator parses them (html5lib, strict),
plain-text fields get its "no HTML in plain text" rules, dates its RFC 822 / RFC 3339 rules.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import html5lib
import jsonschema
from lxml import etree

from support.paths import DATA

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
MEDIA = "{http://search.yahoo.com/mrss/}"

RFC822 = re.compile(
    r"((Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d\d? (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d\d:\d\d(:\d\d)? ([+-]?\d\d[03]0|UT|GMT|EST|EDT|CST|CDT|MST|MDT|PST|PDT|Z)"
)
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*)?(Z|[+-]\d\d:\d\d)")
FULL_URI = re.compile(r"[a-zA-Z][0-9a-zA-Z+\-.]*:(//)?[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,#]+")
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})*")
MIME = re.compile(r"[^\s()<>,;:\\\"/\[\]?=]+/[^\s()<>,;:\\\"/\[\]?=]+")
BAD_CHARACTERS = re.compile("[\x80-\x9f\ufffd]")


def _words(text: str) -> set[str]:
    return set(text.split())


# Formatting HTML a reader may render; anything else in content is a SecurityRisk for us.
SAFE_ELEMENTS = _words(
    "a abbr acronym b blockquote br caption cite code col colgroup dd del details dfn div dl dt em "
    "figcaption figure h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q s samp small span strike "
    "strong sub summary sup table tbody td tfoot th thead time tr u ul var"
)
SAFE_ATTRIBUTES = _words(
    "abbr align alt cite colspan datetime dir height href hreflang lang rel reversed rowspan scope "
    "span src start summary title width"
)
HTML_END_TAG = re.compile(r"</(\w+)>")
HTML_ENTITY = re.compile(r"&(#?\w+);")
KNOWN_HTML = SAFE_ELEMENTS | {"script", "iframe", "object", "embed", "style", "html", "body", "head", "title", "form"}
RELATIVE_REF = re.compile(r"""<(?:a\s+href|img\s+[^>]*src)=(?:"(.*?)"|'(.*?)'|([\w-]+))[\s>]""", re.IGNORECASE)


def implausible(moment: datetime, now: datetime) -> bool:
    """The validator's ImplausibleDate: more than ten minutes ahead, or before 1990."""
    return moment > now + timedelta(minutes=10) or moment.year < 1990


def check_html(value: str, where: str) -> list[str]:
    """NotHtml, SecurityRisk, SecurityRiskAttr, DangerousStyleAttr, ContainsRelRef."""
    problems = []
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        fragment = parser.parseFragment(value)
    except html5lib.html5parser.ParseError as error:
        return [f"{where}: NotHtml ({error})"]
    for element in fragment.iter():
        if not isinstance(element.tag, str) or element.tag == "DOCUMENT_FRAGMENT":
            continue
        if element.tag not in SAFE_ELEMENTS:
            problems.append(f"{where}: SecurityRisk <{element.tag}>")
        for name, attribute in element.attrib.items():
            if name == "style":
                problems.append(f"{where}: DangerousStyleAttr")
            elif name not in SAFE_ATTRIBUTES and not name.startswith("data-"):
                problems.append(f"{where}: SecurityRiskAttr {name}")
            if name in ("href", "src", "cite") and attribute.strip().lower().startswith(("javascript:", "data:")):
                problems.append(f"{where}: SecurityRisk {name}={attribute[:30]}")
    for groups in RELATIVE_REF.findall(value):
        reference = next(group for group in groups if group) if any(groups) else ""
        if not re.match(r"\w+:", reference.strip()):
            problems.append(f"{where}: ContainsRelRef {reference!r}")
    if BAD_CHARACTERS.search(value):
        problems.append(f"{where}: BadCharacters")
    return problems


def check_plain_text(value: str, where: str, rss_line_has_char_refs: bool | None = None) -> list[str]:
    """ContainsHTML / ContainsUndeclaredHTML / CharacterData (RSS Profile) on a plain-text field."""
    problems = []
    tags = [tag for tag in HTML_END_TAG.findall(value) if tag.lower() in KNOWN_HTML]
    if tags:
        problems.append(f"{where}: ContainsHTML </{tags[0]}>")
    elif HTML_ENTITY.search(value):
        problems.append(f"{where}: ContainsHTML (entity in plain text)")
    elif rss_line_has_char_refs is False and re.search(r"&#[x0-9]|<[/a-zA-Z]", value):
        problems.append(f"{where}: CharacterData (escape < and & as &#x3C; &#x26;)")
    if BAD_CHARACTERS.search(value):
        problems.append(f"{where}: BadCharacters")
    return problems


def check_uri(value: str | None, where: str) -> list[str]:
    if not value or not FULL_URI.fullmatch(value):
        return [f"{where}: InvalidFullLink {value!r}"]
    return []


def check_rss(data: bytes, self_url: str, now: datetime, hub: str | None = None) -> list[str]:
    root = etree.fromstring(data)
    lines = data.decode("utf-8").split("\n")
    problems: list[str] = []
    if root.tag != "rss" or root.get("version") != "2.0":
        return ["not RSS 2.0"]
    channel = root.find("channel")
    # The RSS Profile asks for &#x3C; and &#x26; in plain text; the validator only checks that a
    # line holds one (and a whole feed is one line), so check every element.
    for match in re.finditer(rb"<(title|category|dc:creator)>[^<]*&(lt|amp);", data):
        problems.append(f"{match.group(1).decode()}: CharacterData (escape < and & as &#x3C; &#x26;)")

    def text_line_has_refs(element) -> bool:
        return "&#x" in lines[element.sourceline - 1]

    for name in ("title", "link", "description"):
        if not (channel.findtext(name) or "").strip():
            problems.append(f"channel: Missing{name.title()}")
    problems += check_uri(channel.findtext("link"), "channel/link")
    for name in ("title", "description"):
        element = channel.find(name)
        problems += check_plain_text(element.text or "", f"channel/{name}", text_line_has_refs(element))
    problems += _check_self_and_hub(channel, "channel", "MissingAtomSelfLink", self_url, "application/rss+xml", hub)
    language = channel.findtext("language")
    if language is None or not LANGUAGE.fullmatch(language):
        problems.append(f"channel: InvalidLanguage {language!r}")
    for name in ("lastBuildDate", "pubDate"):
        problems += _check_rfc822(channel.findtext(name), f"channel/{name}", now, required=name == "lastBuildDate")
    for name in ("managingEditor", "webMaster"):
        if channel.find(name) is not None and not re.fullmatch(r"\S+@\S+ \(.+\)", channel.findtext(name)):
            problems.append(f"channel/{name}: MissingRealName")
    image = channel.find("image")
    if image is not None and int(image.findtext("width") or 88) > 144:
        problems.append("channel/image: InvalidWidth")
    guids = []
    for number, item in enumerate(channel.findall("item"), start=1):
        where = f"item {number}"
        if item.find("title") is None and item.find("description") is None:
            problems.append(f"{where}: ItemMustContainTitleOrDescription")
        for name in ("title", "category", f"{DC}creator"):
            for element in item.findall(name):
                problems += check_plain_text(element.text or "", f"{where}/{name}", text_line_has_refs(element))
        problems += check_uri(item.findtext("link"), f"{where}/link")
        guid = item.find("guid")
        if guid is None:
            problems.append(f"{where}: MissingGuid")
        else:
            guids.append(guid.text)
            if guid.get("isPermaLink", "true") == "true" and not re.match(r"https?://", guid.text or ""):
                problems.append(f"{where}: InvalidHttpGUID")
        for name in ("description", f"{CONTENT}encoded"):
            element = item.find(name)
            if element is not None:
                problems += check_html(element.text or "", f"{where}/{name}")
        if item.find(f"{CONTENT}encoded") is not None and item.find("description") is None:
            problems.append(f"{where}: NeedDescriptionBeforeContent")
        problems += _check_rfc822(item.findtext("pubDate"), f"{where}/pubDate", now, required=True)
        author = item.findtext("author")
        if author is not None and not re.fullmatch(r"\S+@\S+ \(.+\)", author):
            problems.append(f"{where}/author: MissingRealName or InvalidContact")
        for category in item.findall("category"):
            if category.get("domain") is not None:
                problems += check_uri(category.get("domain"), f"{where}/category@domain")
        enclosure = item.find("enclosure")
        if enclosure is not None and not (enclosure.get("url") and enclosure.get("type") and enclosure.get("length")):
            problems.append(f"{where}/enclosure: MissingAttribute")
        problems += _check_media(item, where)
    if len(guids) != len(set(guids)):
        problems.append("channel: DuplicateValue guid")
    return problems


def check_atom(data: bytes, self_url: str, now: datetime, hub: str | None = None) -> list[str]:
    root = etree.fromstring(data)
    problems: list[str] = []
    if root.tag != f"{ATOM}feed":
        return ["not Atom"]
    language = root.get("{http://www.w3.org/XML/1998/namespace}lang")
    if language is None or not LANGUAGE.fullmatch(language):
        problems.append(f"feed: InvalidLanguage {language!r}")
    problems += check_uri(root.findtext(f"{ATOM}id"), "feed/id")
    problems += _check_text_construct(root.find(f"{ATOM}title"), "feed/title")
    problems += _check_rfc3339(root.findtext(f"{ATOM}updated"), "feed/updated", now)
    problems += _check_links(root, "feed")
    problems += _check_self_and_hub(root, "feed", "MissingSelf", self_url, "application/atom+xml", hub)
    feed_author = root.find(f"{ATOM}author/{ATOM}name") is not None
    ids = []
    entries = root.findall(f"{ATOM}entry")
    newest = None
    for number, entry in enumerate(entries, start=1):
        where = f"entry {number}"
        entry_id = entry.findtext(f"{ATOM}id")
        ids.append(entry_id)
        problems += check_uri(entry_id, f"{where}/id")
        problems += _check_text_construct(entry.find(f"{ATOM}title"), f"{where}/title")
        problems += _check_rfc3339(entry.findtext(f"{ATOM}updated"), f"{where}/updated", now)
        problems += _check_rfc3339(entry.findtext(f"{ATOM}published"), f"{where}/published", now)
        updated = entry.findtext(f"{ATOM}updated")
        if updated and RFC3339.fullmatch(updated):
            moment = datetime.fromisoformat(updated)
            newest = moment if newest is None or moment > newest else newest
        if not feed_author and entry.find(f"{ATOM}author/{ATOM}name") is None:
            problems.append(f"{where}: MissingAuthor")
        content, summary = entry.find(f"{ATOM}content"), entry.find(f"{ATOM}summary")
        if content is None and summary is None:
            problems.append(f"{where}: MissingTextualContent")
        for element in (content, summary):
            if element is not None:
                problems += _check_text_construct(element, f"{where}/{etree.QName(element).localname}")
        problems += _check_links(entry, where)
        for category in entry.findall(f"{ATOM}category"):
            if not category.get("term"):
                problems.append(f"{where}/category: MissingAttribute term")
            if category.get("scheme") is not None:
                problems += check_uri(category.get("scheme"), f"{where}/category@scheme")
            problems += check_plain_text(category.get("term") or "", f"{where}/category")
        problems += _check_media(entry, where)
    if len(ids) != len(set(ids)):
        problems.append("feed: DuplicateIds")
    if newest is not None and datetime.fromisoformat(root.findtext(f"{ATOM}updated")) != newest:
        problems.append("feed/updated: not the newest entry's time")
    return problems


def check_json_feed(data: bytes, self_url: str, now: datetime, hub: str | None = None) -> list[str]:
    feed = json.loads(data)
    schema = json.loads((DATA / "jsonfeed-schema-v1.1.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    problems = [f"schema: {error.json_path}: {error.message}" for error in validator.iter_errors(feed)]
    if feed.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append(f"version {feed.get('version')}")
    if feed.get("feed_url") != self_url:
        problems.append(f"feed_url {feed.get('feed_url')} is not {self_url}")
    if "author" in feed or any("author" in item for item in feed.get("items", [])):
        problems.append("author (JSON Feed 1.0) instead of authors")
    hubs = [entry.get("url") for entry in feed.get("hubs", [])]
    if hubs != ([hub] if hub else []):
        problems.append(f"hubs {hubs}, expected {hub}")
    ids = [item.get("id") for item in feed.get("items", [])]
    if len(ids) != len(set(ids)):
        problems.append("duplicate item ids")
    for number, item in enumerate(feed.get("items", []), start=1):
        for name in ("date_published", "date_modified"):
            problems += _check_rfc3339(item.get(name), f"item {number}/{name}", now)
        if "content_html" in item:
            problems += check_html(item["content_html"], f"item {number}/content_html")
    return problems


def check_opml(data: bytes, feeds_url: str) -> list[str]:
    root = etree.fromstring(data)
    problems = []
    if root.tag != "opml" or root.get("version") != "2.0":
        return ["not OPML 2.0"]
    if not (root.findtext("head/title") or "").strip():
        problems.append("head: MissingTitle")
    modified = root.findtext("head/dateModified")
    if modified is not None and not RFC822.fullmatch(modified):
        problems.append(f"head/dateModified: InvalidRFC2822Date {modified!r}")
    for outline in root.iter("outline"):
        if not outline.get("text"):
            problems.append("outline: MissingTitleAttr text")
        if outline.get("type") != "rss":
            problems.append("outline: MissingOutlineType")
        if not (outline.get("xmlUrl") or "").startswith(feeds_url + "/"):
            problems.append(f"outline: MissingXmlURL {outline.get('xmlUrl')}")
        problems += check_uri(outline.get("htmlUrl"), "outline@htmlUrl")
    return problems


def _check_rfc822(value: str | None, where: str, now: datetime, required: bool) -> list[str]:
    if value is None:
        return [f"{where}: MissingElement"] if required else []
    if not RFC822.fullmatch(value):
        return [f"{where}: InvalidRFC2822Date {value!r}"]
    moment = parsedate_to_datetime(value)
    if value[:3] != moment.strftime("%a"):
        return [f"{where}: IncorrectDOW {value!r}"]
    return [f"{where}: ImplausibleDate {value}"] if implausible(moment, now) else []


def _check_rfc3339(value: str | None, where: str, now: datetime) -> list[str]:
    if value is None or not RFC3339.fullmatch(value):
        return [f"{where}: InvalidRFC3339Date {value!r}"]
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return [f"{where}: ImplausibleDate {value}"] if implausible(moment, now) else []


def _check_text_construct(element, where: str) -> list[str]:
    if element is None:
        return [f"{where}: MissingElement"]
    kind = element.get("type", "text")
    if kind not in ("text", "html", "xhtml") and not MIME.fullmatch(kind):
        return [f"{where}: InvalidMIMEType {kind!r}"]
    if kind == "html":
        return check_html(element.text or "", where)
    if not (element.text or "").strip():
        return [f"{where}: NotBlank"]
    return check_plain_text(element.text or "", where)


def _check_self_and_hub(parent, where: str, missing: str, self_url: str, media_type: str, hub: str | None) -> list[str]:
    """One self link, to where the file is served, with its type; the hub link when there is one."""
    problems = []
    self_links = [link for link in parent.findall(f"{ATOM}link") if link.get("rel") == "self"]
    if len(self_links) != 1:
        problems.append(f"{where}: {missing}")
    elif self_links[0].get("href") != self_url or self_links[0].get("type") != media_type:
        problems.append(f"{where}: SelfDoesntMatchLocation {self_links[0].get('href')}")
    hub_links = [link.get("href") for link in parent.findall(f"{ATOM}link") if link.get("rel") == "hub"]
    if hub_links != ([hub] if hub else []):
        problems.append(f"{where}: hub links {hub_links}, expected {hub}")
    return problems


def _check_links(parent, where: str) -> list[str]:
    problems = []
    seen = set()
    for link in parent.findall(f"{ATOM}link"):
        key = (link.get("rel", "alternate"), link.get("type"), link.get("hreflang"))
        if key in seen and key[0] == "alternate":
            problems.append(f"{where}: DuplicateAtomLink {key}")
        seen.add(key)
        problems += check_uri(link.get("href"), f"{where}/link")
    return problems


def _check_media(parent, where: str) -> list[str]:
    problems = []
    for content in parent.iter(f"{MEDIA}content"):
        problems += check_uri(content.get("url"), f"{where}/media:content@url")
        if content.get("medium") not in (None, "image", "audio", "video", "document", "executable"):
            problems.append(f"{where}/media:content: InvalidMediaMedium")
        if content.get("type") is not None and not MIME.fullmatch(content.get("type")):
            problems.append(f"{where}/media:content: InvalidMIMEType")
    return problems


CHECKS = {"rss": check_rss, "atom": check_atom, "json": check_json_feed}


def check_feed_folder(folder: Path, feeds_url: str, now: datetime, hub: str | None = None) -> dict[str, list[str]]:
    """Problems of every feed file in ``folder`` (files with none are left out)."""
    found = {}
    suffixes = {".rss.xml": "rss", ".atom.xml": "atom", ".json": "json"}
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        fmt = next((fmt for suffix, fmt in suffixes.items() if relative.endswith(suffix)), None)
        if fmt is None:
            continue
        problems = CHECKS[fmt](path.read_bytes(), f"{feeds_url}/{relative}", now, hub)
        if problems:
            found[relative] = problems
    opml = folder / "index.opml"
    if opml.exists() and (problems := check_opml(opml.read_bytes(), feeds_url)):
        found["index.opml"] = problems
    return found
