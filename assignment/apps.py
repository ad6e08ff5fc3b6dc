from django.apps import AppConfig


class AssignmentConfig(AppConfig):
    """Step 3 of the process: routing rules pick the resolver group, the group's strategy picks the person,
    among members who are available (operational hours, absences, on-call rotations, skills)."""

    name = "assignment"
    verbose_name = "Assignment and on-call"
