"""The strings of Tradepoint's emails, by key, in English; their translations live in the
Babel catalogues with the web pages' (context "email": an email's "Cancelled" heads a list,
a web page's labels one record, and French and Spanish say them differently)."""

from __future__ import annotations

CONTEXT = "email"


def pgettext(context: str, message: str) -> str:
    """Marks `message` for extraction under `context` (babel.cfg); it is translated when an
    email is rendered (`search_api.services.mail.Strings`)."""
    return message


EMAIL_MESSAGES: dict[str, str] = {
    "confirm_subject": pgettext("email", "Confirm your Tradepoint subscription"),
    "confirm_intro": pgettext(
        "email",
        "Someone, hopefully you, asked Tradepoint to email %(email)s a %(frequency)s digest of "
        "changes to:",
    ),
    "confirm_action": pgettext("email", "Confirm the subscription"),
    "confirm_ignore": pgettext(
        "email", "If you did not ask for this, ignore this email: nothing more will be sent to you."
    ),
    "confirm_expires": pgettext("email", "The link is valid for 7 days."),
    "digest_subject_one": pgettext("email", "Tradepoint: 1 update to your alert"),
    "digest_subject_many": pgettext("email", "Tradepoint: %(count)s updates to your alert"),
    "digest_intro": pgettext("email", "What changed since our last email about:"),
    "section_cancelled": pgettext("email", "Cancelled"),
    "section_changed": pgettext("email", "Changed"),
    "section_new": pgettext("email", "New"),
    "section_gone": pgettext("email", "No longer listed by the source"),
    "recurring": pgettext("email", "Recurring fairs — next dates not yet announced"),
    "field_title": pgettext("email", "title"),
    "field_dates": pgettext("email", "dates"),
    "field_status": pgettext("email", "status"),
    "field_venue": pgettext("email", "venue"),
    "field_city": pgettext("email", "city"),
    "was_now": pgettext("email", "was %(old)s, now %(new)s"),
    "none": pgettext("email", "none"),
    "details": pgettext("email", "Details"),
    "unsubscribe": pgettext("email", "Unsubscribe"),
    "manage": pgettext("email", "Manage this subscription"),
    "feed": pgettext("email", "Calendar feed"),
    "why": pgettext(
        "email", "You receive this email because %(email)s subscribed to Tradepoint alerts."
    ),
    "daily": pgettext("email", "daily"),
    "weekly": pgettext("email", "weekly"),
    "kind_fair": pgettext("email", "Trade fairs"),
    "kind_requirement": pgettext("email", "Market-access requirements"),
    "kind_finance": pgettext("email", "Export finance"),
    "in_markets": pgettext("email", "in %(markets)s"),
    "in_sectors": pgettext("email", "sectors: %(sectors)s"),
    "hs": pgettext("email", "HS %(code)s"),
    "words": pgettext("email", "matching “%(q)s”"),
    "next_days": pgettext("email", "in the next %(n)s days"),
    "from_date": pgettext("email", "from %(date)s"),
    "to_date": pgettext("email", "until %(date)s"),
    "upcoming": pgettext("email", "upcoming"),
    "status_scheduled": pgettext("email", "scheduled"),
    "status_rescheduled": pgettext("email", "rescheduled"),
    "status_postponed": pgettext("email", "postponed"),
    "status_cancelled": pgettext("email", "cancelled"),
    "status_moved_online": pgettext("email", "moved online"),
    "reminder_subject_one": pgettext("email", "Tradepoint: %(what)s: %(title)s"),
    "reminder_subject_many": pgettext("email", "Tradepoint: %(count)s dates coming up"),
    "reminder_intro": pgettext("email", "Dates coming up in your alert:"),
    "reminder_comment_deadline": pgettext("email", "Comments close on %(date)s"),
    "reminder_effective_date": pgettext("email", "Applies from %(date)s"),
    "reminder_start_date": pgettext("email", "Starts on %(date)s"),
    "reminder_registration_deadline": pgettext("email", "Registration closes on %(date)s"),
    "today": pgettext("email", "today"),
    "tomorrow": pgettext("email", "tomorrow"),
    "in_days": pgettext("email", "in %(n)s days"),
    "moved_from": pgettext("email", "the date moved: it was %(date)s"),
    "ics_comment_deadline": pgettext("email", "Comments close: %(title)s"),
    "ics_effective_date": pgettext("email", "Enters into force: %(title)s"),
    "ics_registration_deadline": pgettext("email", "Registration closes: %(title)s"),
    "reminder_why": pgettext(
        "email", "You receive this email because %(email)s asked Tradepoint for reminders."
    ),
}
