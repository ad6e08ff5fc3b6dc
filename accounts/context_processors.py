from accounts.roles import user_is_agent, user_sees_all_tickets


def roles(request):
    user = getattr(request, "user", None)
    return {
        "is_agent": user_is_agent(user),
        "is_manager": bool(user and user.is_authenticated and user.has_perm("tickets.manage_configuration")),
        "sees_all_tickets": user_sees_all_tickets(user),
    }
