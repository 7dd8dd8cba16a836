"""Master data of the test Tryton database; runs INSIDE the Tryton venv:

    <tryton venv>/bin/python tryton_setup.py <conf> <database>

A company (EUR), a service user ``svc`` with the production and stock groups and a REST key,
the default warehouse ``WH``, and one producible product ``FG-001``. Prints the ids as JSON.
"""

import json
import sys
from decimal import Decimal

from trytond.config import config


def main(conf: str, dbname: str) -> None:
    config.update_etc(conf)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    Pool.start()
    pool = Pool(dbname)
    pool.init()
    with Transaction().start(dbname, 0, context={}) as transaction:
        get = pool.get
        model_data = get("ir.model.data")
        (eur,) = get("currency.currency").create([{"name": "Euro", "code": "EUR", "symbol": "€"}])
        (party,) = get("party.party").create([{"name": "Andon Test Plant"}])
        (company,) = get("company.company").create([{"party": party.id, "currency": eur.id}])
        groups = [
            model_data.get_id(module, xml_id)
            for module, xml_id in [
                ("production", "group_production"),
                ("production", "group_production_admin"),
                ("stock", "group_stock"),
                ("stock", "group_stock_force_assignment"),
                ("product", "group_product_admin"),
            ]
        ]
        (warehouse,) = get("stock.location").search([("type", "=", "warehouse")])
        users = get("res.user")
        (admin,) = users.search([("login", "=", "admin")])
        membership = {
            "companies": [("add", [company.id])],
            "company": company.id,
            "warehouse": warehouse.id,
            "groups": [("add", groups)],
        }
        users.write([admin], membership)
        (svc,) = users.create(
            [{"name": "Andon", "login": "svc", "password": "svc-pass-123", **membership}]
        )
        (key,) = get("res.user.application").create([{"user": svc.id, "application": "rest"}])
        unit = model_data.get_id("product", "uom_unit")
        with transaction.set_context(company=company.id):
            (template,) = get("product.template").create(
                [
                    {
                        "name": "Gearbox housing",
                        "code": "FG-001",
                        "type": "goods",
                        "producible": True,
                        "default_uom": unit,
                        "list_price": Decimal(10),
                        "products": [("create", [{}])],
                    }
                ]
            )
        (product,) = template.products
        result = {
            "company": company.id,
            "currency": eur.id,
            "product": product.id,
            "unit": unit,
            "warehouse": warehouse.id,
            "production_location": warehouse.production_location.id,
            "storage_location": warehouse.storage_location.id,
            "rest_key": key.key,
        }
        transaction.commit()
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
