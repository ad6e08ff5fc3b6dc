"""The templates a new installation starts with (English and Italian); Service Managers edit them."""

SIGNATURE_EN = "\n--\n{{ service_desk_name }}\n{{ ticket_url }}\n"
SIGNATURE_IT = "\n--\n{{ service_desk_name }}\n{{ ticket_url }}\n"

DEFAULT_TEMPLATES: dict[tuple[str, str], tuple[str, str]] = {
    ("acknowledgement", "en"): (
        "[{{ ticket_number }}] We received your request: {{ ticket_title }}",
        "Hello {{ requester_name }},\n\nthank you for contacting us. Your request has been logged as "
        '{{ ticket_number }} "{{ ticket_title }}" and our team will look at it shortly.\n\n'
        "To add information, reply to this message and keep {{ ticket_number }} in the subject.\n" + SIGNATURE_EN,
    ),
    ("acknowledgement", "it"): (
        "[{{ ticket_number }}] Abbiamo ricevuto la sua richiesta: {{ ticket_title }}",
        "Gentile {{ requester_name }},\n\ngrazie per averci contattato. La sua richiesta è stata registrata "
        'come {{ ticket_number }} "{{ ticket_title }}" e il nostro team la prenderà in carico a breve.\n\n'
        "Per aggiungere informazioni risponda a questo messaggio mantenendo {{ ticket_number }} "
        "nell'oggetto.\n" + SIGNATURE_IT,
    ),
    ("status_update", "en"): (
        "[{{ ticket_number }}] Update on your request: {{ ticket_title }}",
        'Hello {{ requester_name }},\n\nhere is an update on {{ ticket_number }} "{{ ticket_title }}" '
        "(status: {{ ticket_status }}, priority: {{ ticket_priority }}).\n\n{{ message }}\n" + SIGNATURE_EN,
    ),
    ("status_update", "it"): (
        "[{{ ticket_number }}] Aggiornamento sulla sua richiesta: {{ ticket_title }}",
        "Gentile {{ requester_name }},\n\nle inviamo un aggiornamento su {{ ticket_number }} "
        '"{{ ticket_title }}" (stato: {{ ticket_status }}, priorità: {{ ticket_priority }}).\n\n'
        "{{ message }}\n" + SIGNATURE_IT,
    ),
    ("info_request", "en"): (
        "[{{ ticket_number }}] We need more information: {{ ticket_title }}",
        'Hello {{ requester_name }},\n\nto work on {{ ticket_number }} "{{ ticket_title }}" we need the '
        "following information:\n\n{{ missing_information }}\n\n{{ message }}\n\nPlease reply to this message, "
        'one item per line (for example "System: ...").\n' + SIGNATURE_EN,
    ),
    ("info_request", "it"): (
        "[{{ ticket_number }}] Ci servono altre informazioni: {{ ticket_title }}",
        'Gentile {{ requester_name }},\n\nper lavorare su {{ ticket_number }} "{{ ticket_title }}" ci '
        "servono le seguenti informazioni:\n\n{{ missing_information }}\n\n{{ message }}\n\nRisponda a questo "
        'messaggio, un\'informazione per riga (per esempio "System: ...").\n' + SIGNATURE_IT,
    ),
    ("resolution_notice", "en"): (
        "[{{ ticket_number }}] Resolved: {{ ticket_title }}",
        'Hello {{ requester_name }},\n\nyour request {{ ticket_number }} "{{ ticket_title }}" has been '
        "resolved.\n\nResolution:\n{{ resolution_notes }}\n\nIf this solves your problem, please accept the "
        "resolution:\n  {{ accept_url }}\nIf it does not, tell us why and we will reopen the request:\n"
        "  {{ reject_url }}\n\nWithout an answer within {{ acceptance_days }} days, the request will be "
        "closed.\n" + SIGNATURE_EN,
    ),
    ("resolution_notice", "it"): (
        "[{{ ticket_number }}] Risolta: {{ ticket_title }}",
        'Gentile {{ requester_name }},\n\nla sua richiesta {{ ticket_number }} "{{ ticket_title }}" è stata '
        "risolta.\n\nSoluzione:\n{{ resolution_notes }}\n\nSe il problema è risolto, accetti la soluzione:\n"
        "  {{ accept_url }}\nSe non lo è, ci dica perché e riapriremo la richiesta:\n  {{ reject_url }}\n\n"
        "Senza risposta entro {{ acceptance_days }} giorni la richiesta verrà chiusa.\n" + SIGNATURE_IT,
    ),
    ("closure", "en"): (
        "[{{ ticket_number }}] Closed: {{ ticket_title }}",
        'Hello {{ requester_name }},\n\nyour request {{ ticket_number }} "{{ ticket_title }}" is now closed. '
        "If you need more help, write to us: a reply to this message opens a new request linked to this "
        "one.\n" + SIGNATURE_EN,
    ),
    ("closure", "it"): (
        "[{{ ticket_number }}] Chiusa: {{ ticket_title }}",
        'Gentile {{ requester_name }},\n\nla sua richiesta {{ ticket_number }} "{{ ticket_title }}" è ora '
        "chiusa. Se le serve altro aiuto ci scriva: una risposta a questo messaggio apre una nuova richiesta "
        "collegata a questa.\n" + SIGNATURE_IT,
    ),
    ("reopen", "en"): (
        "[{{ ticket_number }}] Reopened: {{ ticket_title }}",
        'Hello {{ requester_name }},\n\nyour request {{ ticket_number }} "{{ ticket_title }}" has been '
        "reopened and is back with our team. We will keep you informed.\n" + SIGNATURE_EN,
    ),
    ("reopen", "it"): (
        "[{{ ticket_number }}] Riaperta: {{ ticket_title }}",
        'Gentile {{ requester_name }},\n\nla sua richiesta {{ ticket_number }} "{{ ticket_title }}" è stata '
        "riaperta ed è di nuovo in carico al nostro team. La terremo informata.\n" + SIGNATURE_IT,
    ),
    ("agent_reply", "en"): (
        "[{{ ticket_number }}] {{ ticket_title }}",
        "{{ message }}\n" + SIGNATURE_EN,
    ),
    ("agent_reply", "it"): (
        "[{{ ticket_number }}] {{ ticket_title }}",
        "{{ message }}\n" + SIGNATURE_IT,
    ),
}

DEFAULT_CADENCES = {"P1": 60, "P2": 240}
DEFAULT_REQUIREMENTS = {"access_request": ["System", "Access level", "For whom"]}
