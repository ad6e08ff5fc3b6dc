from django.utils.functional import SimpleLazyObject

from escalations.selectors import notification_unread_count, user_is_vendor


def escalations(request):
    """`is_vendor` (the top bar offers "My cases") and the unread notifications count (one query, when shown)."""
    user = getattr(request, "user", None)
    return {
        "is_vendor": SimpleLazyObject(lambda: user_is_vendor(user)),
        "unread_notifications": SimpleLazyObject(lambda: notification_unread_count(user=user)),
    }
