"""Tavily web search: `POST /search` and `POST /extract` (tavily-python's `TavilyClient` and
`AsyncTavilyClient`, pointed here with `api_base_url=`; the SDK has no base-URL variable).

Search body: `{query, results:[{url, title, content, score, raw_content, favicon?}], answer,
images, follow_up_questions, response_time, request_id, usage?}`. `answer` is null unless the
request sets `include_answer`; `raw_content` is null unless it sets `include_raw_content`;
`images` is empty unless it sets `include_images`; `usage` (`{credits}`) only with
`include_usage`. `max_results` (default 5) caps the results, a fixture's too.

Extract body: `{results:[{url, raw_content, images?, favicon?}], failed_results:[{url, error}],
response_time, request_id, usage?}`.

A fixture's `searchResults` answer a search matched on its query (`match.inputText`); for an
extract (matched on its URLs joined by spaces) they are the pages, found by URL. A miss, when
not strict, answers as the real service would: plausible results derived deterministically
from the query (the same query always gets the same hits, scores decreasing), and pages for
every http(s) URL.

Errors are `{"detail": {"error": "..."}}`: the SDK reads exactly that and raises
UsageLimitExceededError (429), InvalidAPIKeyError (401), BadRequestError (400) or
ForbiddenError (403, 432, 433); other statuses surface as requests' HTTPError.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aimock import ids
from aimock.canonical import CanonicalRequest, RequestContext
from aimock.fixtures.compiled import Reply
from aimock.models.fixture import Fixture, Response
from aimock.providers.common import bounded, check_type, expect_object, optional
from aimock.surface import ErrorDialect, ErrorInfo, ProtocolError, Provider, RenderOptions, Surface

PROVIDER_NAME = "tavily"
SEARCH = "tavily.search"
EXTRACT = "tavily.extract"
DEFAULT_MAX_RESULTS = 5
# The API's limits (Tavily's API reference): `max_results` 0..20, at most 20 URLs an extract.
MAX_RESULTS = 20
MAX_EXTRACT_URLS = 20
SEARCH_DEPTHS = ("basic", "advanced", "fast", "ultra-fast")
TOPICS = ("general", "news", "finance")
TIME_RANGES = ("day", "week", "month", "year", "d", "w", "m", "y")
ANSWER_MODES = ("basic", "advanced")
RAW_FORMATS = ("markdown", "text")
EXTRACT_DEPTHS = ("basic", "advanced")
# What a plausible web of example sites looks like; a result's site and kind are picked from
# these by the query's hash, so the same query always lands on the same pages.
SITES = (
    "example.com",
    "docs.example.org",
    "news.example.net",
    "wiki.example.org",
    "blog.example.com",
    "research.example.edu",
    "forum.example.net",
    "learn.example.io",
)
KINDS = (
    ("Overview", "An overview of {q}: what it is, why it matters and where to start."),
    ("Guide", "A step-by-step guide to {q}, with examples and common pitfalls."),
    ("Latest news", "Recent developments about {q}, summarised from several sources."),
    ("FAQ", "Frequently asked questions about {q}, answered briefly."),
    ("Explained", "{Q} explained in plain language, with background and key terms."),
    ("Comparison", "How {q} compares with the alternatives, and when to choose it."),
    ("Best practices", "Best practices for {q}, collected from practitioners."),
    ("Reference", "Reference material on {q}: definitions, figures and further reading."),
)

# --------------------------------------------------------------------------- errors


def error_body(info: ErrorInfo) -> dict[str, Any]:
    return {"detail": {"error": info.message}}


def error_headers(info: ErrorInfo) -> dict[str, str]:
    if info.status == 429:
        retry = info.retry_after if info.retry_after is not None else 1.0
        return {"retry-after": f"{max(1, round(retry))}"}
    return {}


def unauthorized(given: bool) -> ErrorInfo:
    del given
    return ErrorInfo(401, "Unauthorized: missing or invalid API key.")


ERRORS = ErrorDialect(body=error_body, headers=error_headers, unauthorized=unauthorized)


def invalid(message: str) -> ProtocolError:
    """Tavily answers a bad parameter with 400 and a sentence naming it."""
    return ProtocolError(ErrorInfo(400, message, type="invalid_request_error"))


def _choice(body: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str | None:
    value: str | None = optional(body, key, str, "a string")
    if value is not None and value not in choices:
        raise invalid(f"Invalid {key} '{value}'. Must be one of: {', '.join(choices)}.")
    return value


def _flag_or_choice(body: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str | None:
    """A boolean or one of `choices` (`include_answer: "advanced"`); None when off."""
    value = body.get(key)
    if value is None or value is False:
        return None
    if value is True:
        return choices[0]
    if isinstance(value, str) and value in choices:
        return str(value)
    raise invalid(f"Invalid {key}. Must be a boolean or one of: {', '.join(choices)}.")


def _flag(body: Mapping[str, Any], key: str) -> bool:
    return bool(optional(body, key, bool, "a boolean"))


# --------------------------------------------------------------------------- search


def parse_search(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    body = expect_object(body)
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise invalid("Query is missing or empty.")
    max_results = bounded(body, "max_results", 0, MAX_RESULTS)
    for key in ("include_domains", "exclude_domains"):
        domains = optional(body, key, list, "an array") or []
        for i, domain in enumerate(domains):
            check_type(domain, f"{key}[{i}]", str, "a string")
    depth = _choice(body, "search_depth", SEARCH_DEPTHS) or "basic"
    _choice(body, "time_range", TIME_RANGES)
    return CanonicalRequest(
        surface=SEARCH,
        provider=PROVIDER_NAME,
        endpoint="search",
        model=depth,
        context=context,
        inputs=(query,),
        extras={
            "max_results": DEFAULT_MAX_RESULTS if max_results is None else max_results,
            "topic": _choice(body, "topic", TOPICS) or "general",
            "include_answer": _flag_or_choice(body, "include_answer", ANSWER_MODES),
            "include_raw_content": _flag_or_choice(body, "include_raw_content", RAW_FORMATS),
            "include_images": _flag(body, "include_images"),
            "include_image_descriptions": _flag(body, "include_image_descriptions"),
            "include_favicon": _flag(body, "include_favicon"),
            "include_usage": _flag(body, "include_usage"),
            "include_domains": tuple(body.get("include_domains") or ()),
        },
    )


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _terms(query: str) -> list[str]:
    return re.findall(r"\w+", query.lower())


def _slug(query: str) -> str:
    return "-".join(_terms(query)[:8]) or "search"


def _site(position: int, digest: bytes, domains: tuple[str, ...]) -> str:
    """A result's host: the request's `include_domains` when given (they restrict the hits),
    otherwise one of the example sites, picked by the query's hash."""
    if domains:
        return domains[position % len(domains)]
    return SITES[(digest[position] + position) % len(SITES)]


@dataclass(frozen=True, slots=True)
class ReplySearchResult:
    title: str
    url: str
    content: str
    score: float | None
    raw_content: str | None


@dataclass(frozen=True, slots=True)
class SearchReply:
    """A search fixture's own hits, answer and images (URL strings or {url, description});
    a reply without one (a fallback) gets hits derived from the query."""

    results: tuple[ReplySearchResult, ...]
    answer: str | None
    images: tuple[object, ...] | None


def search_reply(fixture: Fixture | None, response: Response) -> SearchReply | None:
    del fixture
    if response.search_results is None:
        return None
    return SearchReply(
        tuple(
            ReplySearchResult(r.title, r.url, r.content, r.score, r.raw_content)
            for r in response.search_results
        ),
        response.answer,
        tuple(response.images) if response.images is not None else None,
    )


def derived_results(query: str, count: int, domains: tuple[str, ...]) -> list[ReplySearchResult]:
    """Plausible hits for `query`: stable example URLs, titles and snippets that mention the
    query, scores decreasing from about 0.9."""
    digest = _digest(query)
    slug = _slug(query)
    shown = query.strip()
    top = 0.86 + digest[0] / 255 * 0.1
    results = []
    for position in range(count):
        kind, template = KINDS[(digest[position + 1] + position) % len(KINDS)]
        snippet = template.format(q=shown, Q=shown[:1].upper() + shown[1:])
        site = _site(position, digest, domains)
        results.append(
            ReplySearchResult(
                title=f"{shown[:1].upper() + shown[1:]} - {kind}",
                url=f"https://{site}/{slug}" + (f"-{position + 1}" if position else ""),
                content=snippet,
                score=round(max(0.05, top - position * (0.07 + digest[2] / 255 * 0.03)), 5),
                raw_content=f"# {shown}\n\n{snippet}\n\nThis page covers {shown} in depth: "
                f"its background, how it is used, and where to learn more.",
            )
        )
    return results


def _answer(query: str, results: list[ReplySearchResult]) -> str:
    """A one-sentence answer built from the top hit, the same for the same query."""
    if not results:
        return f"No results were found for {query.strip()}."
    top = results[0]
    return f"Based on {top.url}: {top.content}"


def _images(request: CanonicalRequest, given: SearchReply | None, query: str) -> list[Any]:
    if not request.extras.get("include_images"):
        return []
    describe = request.extras.get("include_image_descriptions")
    if given is not None and given.images is not None:
        items = list(given.images)
    else:
        digest = _digest(query).hex()
        items = [
            f"https://images.example.com/{_slug(query)}-{digest[i * 6 : i * 6 + 6]}.jpg"
            for i in range(3)
        ]
    if not describe:
        return [item["url"] if isinstance(item, dict) else item for item in items]
    return [
        item if isinstance(item, dict) else {"url": item, "description": f"An image of {query}"}
        for item in items
    ]


def _favicon(url: str) -> str:
    host = url.split("/")[2] if url.count("/") >= 2 else url
    return f"https://{host}/favicon.ico"


def _wire_result(request: CanonicalRequest, result: ReplySearchResult, score: float) -> Any:
    raw = None
    if request.extras.get("include_raw_content"):
        raw = result.raw_content if result.raw_content is not None else result.content
    item: dict[str, Any] = {
        "url": result.url,
        "title": result.title,
        "content": result.content,
        "score": score,
        "raw_content": raw,
    }
    if request.extras.get("include_favicon"):
        item["favicon"] = _favicon(result.url)
    return item


def _credits(request: CanonicalRequest) -> int:
    return 2 if request.model == "advanced" else 1


def render_search(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> dict[str, Any]:
    del options
    query = request.inputs[0]
    limit = request.extras.get("max_results", DEFAULT_MAX_RESULTS)
    given = reply.extension(SearchReply)
    if given is not None:
        results = list(given.results)[:limit]
    else:
        results = derived_results(query, limit, request.extras.get("include_domains", ()))
    answer = None
    if request.extras.get("include_answer"):
        answer = given.answer if given and given.answer is not None else _answer(query, results)
    body: dict[str, Any] = {
        "query": query,
        "follow_up_questions": None,
        "answer": answer,
        "images": _images(request, given, query),
        "results": [
            _wire_result(request, r, r.score if r.score is not None else _rank_score(i))
            for i, r in enumerate(results)
        ],
        "response_time": 0.01,
        "request_id": reply.id or ids.uuid4(),
    }
    if request.extras.get("include_usage"):
        body["usage"] = {"credits": _credits(request)}
    return body


def _rank_score(position: int) -> float:
    """A fixture result without a score: decreasing with its position."""
    return round(max(0.05, 0.9 - position * 0.08), 5)


def fallback(request: CanonicalRequest) -> Reply:
    del request
    return Reply(kind="search")


# --------------------------------------------------------------------------- extract


def parse_extract(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    del params
    body = expect_object(body)
    urls = body.get("urls")
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise invalid("urls is missing or empty: give a URL or a list of URLs.")
    if len(urls) > MAX_EXTRACT_URLS:
        raise invalid(f"Too many urls. At most {MAX_EXTRACT_URLS} URLs per request.")
    depth = _choice(body, "extract_depth", EXTRACT_DEPTHS) or "basic"
    return CanonicalRequest(
        surface=EXTRACT,
        provider=PROVIDER_NAME,
        endpoint="search",
        model=depth,
        context=context,
        inputs=tuple(urls),
        extras={
            "format": _choice(body, "format", RAW_FORMATS) or "markdown",
            "include_images": _flag(body, "include_images"),
            "include_favicon": _flag(body, "include_favicon"),
            "include_usage": _flag(body, "include_usage"),
        },
    )


def _page_text(url: str) -> str:
    digest = _digest(url)
    path = url.split("://", 1)[-1]
    kind, template = KINDS[digest[0] % len(KINDS)]
    topic = " ".join(_terms(path.split("/", 1)[-1])) or path
    return f"# {kind}: {topic}\n\n{template.format(q=topic, Q=topic[:1].upper() + topic[1:])}"


def render_extract(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> dict[str, Any]:
    del options
    given = reply.extension(SearchReply)
    pages = {r.url: r.raw_content or r.content for r in given.results} if given else {}
    results: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for url in request.inputs:
        if given is not None:
            text = pages.get(url)
        elif url.startswith(("http://", "https://")):
            text = _page_text(url)
        else:
            text = None
        if text is None:
            failed.append({"url": url, "error": "Failed to fetch url"})
            continue
        item: dict[str, Any] = {"url": url, "raw_content": text}
        if request.extras.get("include_images"):
            item["images"] = []
        if request.extras.get("include_favicon"):
            item["favicon"] = _favicon(url)
        results.append(item)
    body: dict[str, Any] = {
        "results": results,
        "failed_results": failed,
        "response_time": 0.01,
        "request_id": reply.id or ids.uuid4(),
    }
    if request.extras.get("include_usage"):
        per_five = -(-len(results) // 5)
        body["usage"] = {"credits": per_five * (2 if request.model == "advanced" else 1)}
    return body


# --------------------------------------------------------------------------- surfaces

SEARCH_SURFACE = Surface(
    name=SEARCH,
    provider=PROVIDER_NAME,
    endpoint="search",
    method="POST",
    paths=("/search",),
    parse=parse_search,
    render=render_search,
    fallback=fallback,
    errors=ERRORS,
)

EXTRACT_SURFACE = Surface(
    name=EXTRACT,
    provider=PROVIDER_NAME,
    endpoint="search",
    method="POST",
    paths=("/extract",),
    parse=parse_extract,
    render=render_extract,
    fallback=fallback,
    errors=ERRORS,
)

PROVIDER = Provider(
    name=PROVIDER_NAME,
    surfaces=(SEARCH_SURFACE, EXTRACT_SURFACE),
    # tavily-python reads only its key from the environment; the base URL is the client's
    # `api_base_url=` argument.
    environment={"TAVILY_API_KEY": "aimock"},
    extensions=(search_reply,),
)
