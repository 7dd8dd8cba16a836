"""ERP endpoints, saved like every piece of configuration (validated, permission-checked,
history with the actor and the reason, one ``erp_endpoint.changed`` event) and within what
the actor holds: an endpoint serves the sites it names, at least one, each a site the actor
sees; one serving a site the actor does not see is not theirs to change. Secrets are saved,
never shown, never kept in history or events."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from mes.access import visible_site_ids
from mes.errors import InvalidInput, NotPermitted
from mes.models import Site
from mes.services.config import save_configuration

from .models import ErpEndpoint

SECRETS = ("auth_value", "hmac_secret")


def save_endpoint(
    endpoint: ErpEndpoint,
    *,
    actor,
    reason: str = "",
    sites: Iterable[Site] | None = None,
    **parts,
) -> ErpEndpoint:
    """Create or change ``endpoint``; ``sites`` (None: left as they are) are the sites it
    serves. Refused with 403 ``not_delegable`` when it serves, or would serve, a site the
    actor does not see; 400 ``sites_required`` when it would serve none."""
    sites = None if sites is None else list(sites)
    if endpoint.pk is None and sites is None:
        sites = []
    if actor is not None:
        visible = visible_site_ids(actor)
        if endpoint.pk is not None and not (
            ErpEndpoint.objects.manageable_by(actor).filter(pk=endpoint.pk).exists()
        ):
            raise NotPermitted(
                _("This endpoint also serves sites you do not manage."), code="not_delegable"
            )
        if sites is not None and any(site.pk not in visible for site in sites):
            raise NotPermitted(
                _("An endpoint may serve only sites you manage."), code="not_delegable"
            )
    if sites is not None and not sites:
        raise InvalidInput(
            _("Name the sites whose events this ERP receives."),
            code="sites_required",
            fields={"sites": [_("Name one or more sites.")]},
        )
    after_save = list(parts.pop("after_save", ()))
    if sites is not None:
        after_save.insert(0, lambda: endpoint.sites.set(sites))
    return save_configuration(
        endpoint,
        actor=actor,
        reason=reason,
        event_type="erp_endpoint.changed",
        after_save=after_save,
        secrets=SECRETS,
        **parts,
    )
