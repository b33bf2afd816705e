"""Any OpenAI-compatible chat endpoint, through the `openai` client: streamed, bounded in time, one-line errors.

llama.cpp's server, Ollama, vLLM and hosted services all speak this protocol, and the bundled
local model (`local.py`) is reached the same way. Every failure becomes a `GenerationFailed`
whose message is one line for the user ("the model server at … could not be reached"), and the
answer falls back to quoting.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from ..config import Config
from ..errors import QAError, shown

__all__ = ["Endpoint", "GenerationFailed"]


class GenerationFailed(QAError):
    """The generative composer could not answer; the message says why, on one line."""


class Endpoint:
    """One configured endpoint (base URL, model, key, timeout); the model name is asked once."""

    def __init__(self, config: Config) -> None:
        if not config.llm_url:
            raise GenerationFailed("no model endpoint is configured (QA_LLM_URL), and none was started (`qa serve --llm local`)")
        try:
            import httpx
            import openai
        except ImportError:
            raise GenerationFailed("the `openai` client is not installed (pip install -e '.[llm]')") from None
        self.url = config.llm_url
        self.timeout = config.llm_timeout
        self.max_tokens = config.llm_max_tokens
        self._model = config.llm_model
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=config.llm_url,
            api_key=config.llm_key or "none",
            timeout=httpx.Timeout(config.llm_timeout, connect=min(config.llm_timeout, 5.0)),
            max_retries=0,
        )

    def close(self) -> None:
        self._client.close()

    def model(self) -> str:
        """The configured model name, else the first model the endpoint lists."""
        if not self._model:
            listed = self._call(lambda: self._client.models.list().data)
            if not listed:
                raise GenerationFailed(f"the model server at {self.url} lists no model; set QA_LLM_MODEL")
            self._model = listed[0].id
        return self._model

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        seed: int = 0,
        stop: list[str] | None = None,
        max_tokens: int | None = None,
        deadline: float | None = None,
    ) -> Iterator[str]:
        """The answer's text as it is written (`/chat/completions`): temperature 0 and a fixed seed,
        so that one question over one index gets one answer. Raises `GenerationFailed` past
        `deadline` (a `time.monotonic()`; default `llm_timeout` seconds from now)."""
        model = self.model()
        return self._pieces(
            lambda: self._client.chat.completions.create(
                model=model,
                messages=messages,  # type: ignore[arg-type]
                stream=True,
                temperature=0.0,
                seed=seed,
                max_tokens=max_tokens or self.max_tokens,
                **({"stop": stop} if stop else {}),
            ),
            lambda choice: choice.delta.content if choice.delta else None,
            deadline,
        )

    def complete(
        self,
        prompt: str,
        *,
        seed: int = 0,
        stop: list[str] | None = None,
        max_tokens: int | None = None,
        deadline: float | None = None,
    ) -> Iterator[str]:
        """The same from `/completions`: a plain prompt continued, for base models without a chat template."""
        model = self.model()
        return self._pieces(
            lambda: self._client.completions.create(
                model=model,
                prompt=prompt,
                stream=True,
                temperature=0.0,
                seed=seed,
                max_tokens=max_tokens or self.max_tokens,
                **({"stop": stop} if stop else {}),
            ),
            lambda choice: choice.text,
            deadline,
        )

    def _pieces(self, create: Any, text_of: Any, deadline: float | None) -> Iterator[str]:
        """The streamed chunks' text, each chunk checked for shape and against the deadline."""
        deadline = deadline if deadline is not None else time.monotonic() + self.timeout
        chunks = self._call(create)
        try:
            iterator = iter(chunks)
            while True:
                chunk = self._call(lambda: next(iterator, None))
                if chunk is None:
                    return
                if time.monotonic() > deadline:
                    raise GenerationFailed(f"the model server at {self.url} took longer than {self.timeout:g} s")
                choices = getattr(chunk, "choices", None)
                if not isinstance(choices, list):
                    raise GenerationFailed(f"the model server at {self.url} sent something that is not a completion")
                text = self._call(lambda first=choices[0]: text_of(first)) if choices else None
                if text:
                    if not isinstance(text, str):
                        raise GenerationFailed(f"the model server at {self.url} sent something that is not a completion")
                    yield text
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()

    def _call(self, work: Any) -> Any:
        """`work()`, with the client's errors as one line each."""
        openai = self._openai
        try:
            return work()
        except openai.APITimeoutError:
            raise GenerationFailed(f"the model server at {self.url} did not answer within {self.timeout:g} s") from None
        except openai.APIConnectionError as error:
            cause = error.__cause__ or error
            raise GenerationFailed(
                f"the model server at {self.url} could not be reached ({shown(str(cause) or type(cause).__name__, 120)})"
            ) from None
        except openai.APIStatusError as error:
            raise GenerationFailed(
                f"the model server at {self.url} answered HTTP {error.status_code}: {shown(error.message, 160)}"
            ) from None
        except (openai.OpenAIError, ValueError, KeyError, AttributeError, IndexError, TypeError) as error:
            raise GenerationFailed(
                f"the model server at {self.url} sent something that is not a completion ({type(error).__name__})"
            ) from None
