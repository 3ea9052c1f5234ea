"""Whitespace tokenizer for Vietnamese whose lemmas are accent-folded.

Tokens keep the user's original text and character offsets (entity extraction
and RegexEntityExtractor need them); only ``token.lemma`` changes.
CountVectorsFeaturizer reads lemmas by default (``use_lemma: true``), so
"giấy tờ", "giay to" and "GIẤY TỜ" share features. Text typed without
diacritics is the largest accuracy risk for Vietnamese NLU (see
shared/reference/chatbot.md).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from components.vietnamese_text import canonical_text, fold, normalize


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseTokenizer(WhitespaceTokenizer):
    """Syllable tokenizer; lemma = folded form (or the normalised accented form)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **WhitespaceTokenizer.get_default_config(),
            # False keeps accents in the lemma (NFC, lower case, modern tone
            # placement) for experiments; True folds them away.
            "fold_accents": True,
        }

    @staticmethod
    def not_supported_languages() -> list[str] | None:
        return None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VietnameseTokenizer:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        # NFC + modern tone placement before anything reads offsets: some
        # keyboards send decomposed text, which lookup tables and synonyms
        # (written in NFC) would otherwise miss.
        for message in messages:
            text = message.get(TEXT)
            if text:
                message.set(TEXT, canonical_text(text))
        return super().process(messages)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        to_lemma = fold if self._config["fold_accents"] else normalize
        for token in tokens:
            token.lemma = to_lemma(token.text)
        return tokens
