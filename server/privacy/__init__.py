"""A customer's data rights: the export of everything kept about them (``data_exports``) and erasure
(``erasure``). API: ``/v1/customers/{id}/erase``, ``/v1/customers/{id}/data-exports``."""
