from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """`mapping|get_item:key` for dictionaries whose keys are not identifiers (priorities such as "P1")."""
    if mapping is None:
        return ""
    return mapping.get(key, mapping.get(f"p_{key}", 0))
