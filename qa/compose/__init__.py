"""Composers: how an answer is written from its evidence.

`extractive` (the default, and the fallback) quotes the reports: `qa/answer.py`. `generative`
has a language model behind any OpenAI-compatible endpoint write a few sentences from the same
evidence, and keeps only those that the passages they cite support (`verify.py`). The bundled
local model (`local.py`, the `llm` extra) is served on loopback and reached the same way.
"""

from __future__ import annotations

from .brief import Brief, brief_of, messages
from .endpoint import Endpoint, GenerationFailed
from .generative import fallback, generate
from .local import LocalModelError, LocalServer, bundled_model, llama_cpp_installed
from .verify import agrees, split_claims, verify

__all__ = [
    "Brief",
    "brief_of",
    "messages",
    "Endpoint",
    "GenerationFailed",
    "generate",
    "fallback",
    "LocalServer",
    "LocalModelError",
    "bundled_model",
    "llama_cpp_installed",
    "verify",
    "agrees",
    "split_claims",
]
