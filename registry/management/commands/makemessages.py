"""``manage.py makemessages`` (``make messages``) that also extracts the msgids of the verdict texts.

The eligibility criteria do not translate when they run: they build texts with ``msg``, ``pmsg`` and ``nmsg``
(``prescriptions/eligibility/text.py``), rendered in the reader's language when the verdict is read. Django's
command only knows gettext's names; this one passes xgettext the same keyword specifications for these three
(``msg(msgid)``, ``pmsg(context, msgid)``, ``nmsg(singular, plural, count)``), so every msgid stays in
``django.po`` with its translation.
"""

from django.core.management.commands import makemessages

VERDICT_TEXT_KEYWORDS = ["--keyword=msg:1", "--keyword=pmsg:1c,2", "--keyword=nmsg:1,2"]


class Command(makemessages.Command):
    xgettext_options = makemessages.Command.xgettext_options + VERDICT_TEXT_KEYWORDS
