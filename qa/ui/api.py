"""The JSON API at `/api/`: the engine over plain HTTP, for programs.

    GET|POST /api/retrieve   question, k, mode, sources, since, until → {"passages": […]}
    GET|POST /api/answer     question, history, k, mode, sources, since, until, composer → `qa ask --json`'s object
    GET      /api/status     the index, and the answers in flight
    POST     /api/admin/rebuild, /api/admin/remove   behind the admin password (HTTP Basic or Bearer)

The schema is at `/api/openapi.json` and a docs page at `/api/docs`. Errors are `{"error": "…"}`
with a status that says what kind: 400 a bad request, 401 a login needed, 404 no index, 409 a
change already running, 413 too large, 429 too many (with Retry-After), 503 an index to rebuild.
Answers run in FastAPI's thread pool, each through the one `Gate` the chat uses too.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ..config import MAX_K
from ..errors import CorruptIndexError, IndexMismatchError, IndexNotFoundError, QAError, shown
from ..render import passage_json, to_json
from .admin import Changes
from .reader import internal_error
from .service import Service


class JSONBytes(Response):
    """A JSON body encoded by orjson: an answer is returned as made, without FastAPI's encoding of a
    large dict (bench/api_load.py). (FastAPI's own ORJSONResponse is deprecated.)"""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


__all__ = ["create_api", "client_of"]


class RetrieveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=100_000)
    k: int | None = Field(default=None, ge=1, le=MAX_K)
    mode: Literal["hybrid", "dense", "bm25"] | None = None
    sources: list[str] | None = Field(default=None, max_length=200)
    since: str | None = Field(default=None, max_length=40)
    until: str | None = Field(default=None, max_length=40)


class AnswerRequest(RetrieveRequest):
    history: list[Any] | None = Field(default=None, max_length=200)
    #: Who writes the answer (default: the server's `QA_ANSWER`).
    composer: Literal["extractive", "generative"] | None = None


class AnswerQuery(RetrieveRequest):
    """`GET /answer`'s parameters: a history does not fit in a URL."""

    composer: Literal["extractive", "generative"] | None = None


class RemoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=2000)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def create_api(service: Service, changes: Changes) -> FastAPI:
    api = FastAPI(
        title="qa",
        summary="Questions over news articles, answered with dated, exact citations.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )

    @api.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        if first.get("type") == "json_invalid":  # the body is not JSON at all
            return JSONResponse({"error": "the request body is not valid JSON"}, status_code=400)
        where = ".".join(str(x) for x in first.get("loc", ()) if x not in ("body", "query"))
        message = first.get("msg", "invalid request")
        return JSONResponse({"error": shown(f"{where}: {message}" if where else message)}, status_code=400)

    @api.exception_handler(HTTPException)
    async def _http(_: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code, headers=error.headers)

    def limited(request: Request) -> None:
        wait = service.rate.wait(client_of(request))
        if wait:
            raise HTTPException(429, f"too many questions; try again in {wait:.0f} s", {"Retry-After": str(max(1, round(wait)))})

    def admin(request: Request) -> None:
        """The admin password, as HTTP Basic (any user name) or a Bearer token; failures throttled per client."""
        password = service.admin_password
        if not password:
            return  # no password: the server is on loopback (`serve` refuses anything else)
        client = client_of(request)
        wait = service.logins.wait(client)
        if wait:
            raise HTTPException(
                429, f"too many failed logins; try again in {wait:.0f} s", {"Retry-After": str(max(1, round(wait)))}
            )
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        given = credentials if scheme.lower() == "bearer" else ""
        if scheme.lower() == "basic":
            try:
                given = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")[2]
            except (binascii.Error, UnicodeDecodeError):
                given = ""
        if not hmac.compare_digest(given.encode(), password.encode()):
            service.logins.failed(client)
            raise HTTPException(
                401, "the admin password is needed (HTTP Basic or Bearer)", {"WWW-Authenticate": 'Basic realm="qa"'}
            )
        service.logins.succeeded(client)

    def answered(work: Any) -> Any:
        try:
            return work()
        except IndexNotFoundError as error:
            raise HTTPException(404, str(error)) from None
        except (CorruptIndexError, IndexMismatchError) as error:
            raise HTTPException(503, str(error)) from None
        except QAError as error:
            raise HTTPException(400, str(error)) from None
        except Exception:  # noqa: BLE001 - logged with its traceback by internal_error; the client sees one line
            raise HTTPException(500, internal_error("answering over the JSON API").replace("**", "")) from None

    # Answers are returned as made (orjson, no response model): FastAPI's own encoding of a large
    # nested answer cost more than the answer itself (bench/README.md, issue 21).
    def retrieve(request: RetrieveRequest) -> JSONBytes:
        arguments = request.model_dump(exclude={"question"}, exclude_none=True)
        found = answered(lambda: service.retrieve(request.question, **arguments))
        return JSONBytes({"passages": [passage_json(p) for p in found]})

    def answer(request: AnswerRequest) -> JSONBytes:
        arguments = request.model_dump(exclude={"question"}, exclude_none=True)
        return JSONBytes(to_json(answered(lambda: service.answer(request.question, **arguments))))

    @api.get("/retrieve", dependencies=[Depends(limited)])
    def retrieve_get(query: Annotated[RetrieveRequest, Query()]) -> JSONBytes:
        """The passages that best answer the question, the newest report first for a status question."""
        return retrieve(query)

    @api.post("/retrieve", dependencies=[Depends(limited)])
    def retrieve_post(body: RetrieveRequest) -> JSONBytes:
        return retrieve(body)

    @api.get("/answer", dependencies=[Depends(limited)])
    def answer_get(query: Annotated[AnswerQuery, Query()]) -> JSONBytes:
        """The answer, as `qa ask --json` gives it."""
        return answer(AnswerRequest(**query.model_dump()))

    @api.post("/answer", dependencies=[Depends(limited)])
    def answer_post(body: AnswerRequest) -> JSONBytes:
        return answer(body)

    @api.get("/status")
    def status() -> dict[str, Any]:
        """The index being served, and how many answers are in flight (at most `limit`)."""
        index = answered(lambda: service.engine.index())
        manifest = index.manifest
        return {
            "generation": index.generation,
            "articles": manifest["articles"],
            "chunks": manifest["chunks"],
            "model": index.model_id,
            "built_at": manifest.get("built_at"),
            "sources": index.sources(),
            "answers": {"in_flight": service.gate.in_flight, "most": service.gate.most, "limit": service.gate.limit},
        }

    def change(command: list[str], doing: str) -> dict[str, Any]:
        lines = list(changes.run(command, doing))
        last = lines[-1] if lines else ""
        if last.startswith("Another change"):
            raise HTTPException(409, last)
        if last.startswith("**That failed"):
            raise HTTPException(400, last.replace("**", ""))
        return {"result": last}

    @api.post("/admin/rebuild", dependencies=[Depends(admin)])
    def rebuild() -> dict[str, Any]:
        """Bring the index up to date with its articles folder; the previous index serves meanwhile."""
        return change(["build"], "rebuilding")

    @api.post("/admin/remove", dependencies=[Depends(admin)])
    def remove(body: RemoveRequest) -> dict[str, Any]:
        return change(["remove", body.id], "removing an article")

    return api
