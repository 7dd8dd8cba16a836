"""factory_boy factories for the production core, and a user-with-role helper."""

import datetime
import itertools
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from mes import services
from mes.access import grant_site_access
from mes.models import Item, Lot, Machine, Site, WorkCenter

_wo_numbers = itertools.count(1001)


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n}")
    name = factory.LazyAttribute(lambda o: f"Plant {o.code}")
    timezone = "Europe/Warsaw"


class WorkCenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkCenter

    site = factory.SubFactory(SiteFactory)
    code = factory.Sequence(lambda n: f"WC{n}")
    name = factory.Sequence(lambda n: f"Work center {n}")
    kind = "machining"


class MachineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Machine

    work_center = factory.SubFactory(WorkCenterFactory)
    site = factory.SelfAttribute("work_center.site")
    code = factory.Sequence(lambda n: f"M{n}")
    name = "Haas ST-20"


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    code = factory.Sequence(lambda n: f"FG-{10000 + n}")
    name = factory.Sequence(lambda n: f"Wspornik {n}")
    kind = "finished"
    unit = "pcs"


class LotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lot

    site = factory.SubFactory(SiteFactory)
    number = factory.Sequence(lambda n: f"L{n:06d}")
    item = factory.SubFactory(ItemFactory, kind="raw", unit="kg")
    quantity = Decimal("100.000")


def make_work_order(
    site: Site,
    *,
    erp_number: str | None = None,
    status: str = "planned",
    operations: int = 2,
    qty: str = "100",
    due_date: datetime.date | None = None,
    item: Item | None = None,
    work_centers: list[WorkCenter] | None = None,
):
    """A work order with ``operations`` operations, brought to ``status`` through the services."""
    wcs = work_centers or [WorkCenterFactory(site=site) for _ in range(operations)]
    wo = services.create_work_order(
        site=site,
        erp_number=erp_number or f"WO-{next(_wo_numbers)}",
        item=item or ItemFactory(),
        planned_qty=qty,
        due_date=due_date or datetime.date(2030, 1, 1),
        operations=[
            services.OperationSpec(
                sequence=10 * (i + 1),
                work_center=wcs[i % len(wcs)],
                setup_minutes=Decimal(10),
                run_minutes_per_unit=Decimal("0.5"),
            )
            for i in range(operations)
        ],
        actor=None,
    )
    if status == "planned":
        return wo
    if status == "cancelled":
        return services.cancel_work_order(wo, actor=None, reason="test")
    wo = services.release_work_order(wo, actor=None)
    if status in ("in_progress", "completed", "closed"):
        wo = services.start_work_order(wo, actor=None)
    if status in ("completed", "closed"):
        for op in wo.operations.order_by("sequence"):
            services.confirm_operation(op, actor=None, good_qty=qty, final=True)
        wo = services.complete_work_order(wo, actor=None)
    if status == "closed":
        wo = services.close_work_order(wo, actor=None)
    if status == "on_hold":
        wo = services.hold_work_order(wo, actor=None, reason="test hold")
    wo.refresh_from_db()
    return wo


def make_user(username: str, role: str | None = None, sites=(), **extra) -> User:
    """A user in role group ``role`` with access to ``sites``."""
    user = User.objects.create_user(username=username, password="pw", **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    for site in sites:
        grant_site_access(user, site)
    return User.objects.get(pk=user.pk)  # fresh: no stale permission caches


def make_token(user, sites=(), **fields) -> str:
    """A new API token of ``user``, a bare row like the other factories' (no event, no
    history: tests of the token service use the service); returns its key."""
    import datetime as dt

    from django.utils import timezone

    from mes.models import ApiToken
    from mes.models.tokens import digest_of, new_key

    key = new_key()
    fields.setdefault("name", "test")
    fields.setdefault("expires_at", timezone.now() + dt.timedelta(days=30))
    # Used a moment ago from the test client's address: a request's queries are the steady
    # state's (the last-used write comes at most once a minute; the token tests count it).
    fields.setdefault("last_used_at", timezone.now())
    fields.setdefault("last_used_from", "127.0.0.1")
    token = ApiToken.objects.create(user=user, prefix=key[:12], digest=digest_of(key), **fields)
    if sites:
        token.sites.set(sites)
    return key


def make_endpoint(*sites, **fields):
    """An ERP endpoint serving ``sites`` (none given: every site there is now)."""
    from integrations.erp.models import ErpEndpoint

    endpoint = ErpEndpoint.objects.create(**fields)
    endpoint.sites.set(sites or Site.objects.all())
    return endpoint
