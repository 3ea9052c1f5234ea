"""Drop the entities DIET guessed for types that only a regex may extract.

Phone numbers, case codes, CCCD numbers, e-mails and student codes have exact
formats. RegexEntityExtractor only learns a type that is annotated in the
training data, so DIET learns it too and then tags "123" as a phone. This
component removes DIET's entities of those types; the regex ones stay.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, EXTRACTOR
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class RegexOnlyEntities(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "entities": ["phone", "case_code", "cccd", "email", "student_code"],
            "drop_from": ["DIETClassifier"],
        }

    def __init__(self, config: dict[str, Any]) -> None:
        self.entities = set(config["entities"])
        self.drop_from = set(config["drop_from"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RegexOnlyEntities:
        return cls(config)

    @staticmethod
    def required_packages() -> list[str]:
        return []

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities: list[dict[str, Any]] | None = message.get(ENTITIES)
            if entities:
                message.set(
                    ENTITIES,
                    [
                        e
                        for e in entities
                        if not (e.get("entity") in self.entities and e.get(EXTRACTOR) in self.drop_from)
                    ],
                    add_to_output=True,
                )
        return messages
