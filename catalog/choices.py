"""Choices of the catalogue."""

from django.db import models


class AssignmentStrategy(models.TextChoices):
    """How a resolver group hands a ticket to one of its members (assignment/strategies.py)."""

    NONE = "none", "None (group queue)"
    ROUND_ROBIN = "round_robin", "Round-robin"
    LEAST_LOADED = "least_loaded", "Least loaded"
    BEST_SKILL = "best_skill", "Best skill match, then least loaded"
