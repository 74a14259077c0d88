"""Whether a PostgreSQL connection's role may do more than read: superuser powers, or writes.

A query runs read-only whatever the role (the parser, the allowlist and a
read-only transaction each stop writes), but a role that could write or read the
server's files turns any gap in those layers into damage. So a connection is
refused, with the reason, when its role (the session's or the current one):

- **is a superuser**, or a member of ``pg_read_server_files``,
  ``pg_write_server_files`` or ``pg_execute_server_program`` (server files and
  programs): refused unless the project config says ``allow_superuser = true``;
- **can write**: INSERT, UPDATE, DELETE or TRUNCATE on a table, view or foreign
  table (column grants included), UPDATE on a sequence, owns a table, has CREATE
  on the database or on a schema, may create roles or databases, or is a member of
  ``pg_write_all_data``: refused unless ``allow_write = true``.

``pg_catalog.pg_settings`` does not count either: everyone may UPDATE it, which is
``SET`` (refused in queries anyway). Membership counts when its privileges are inherited (``pg_has_role ... USAGE``),
the way PostgreSQL itself grants them. TEMP (temporary tables) does not count:
every role has it by default, and a read-only transaction cannot use it.
"""

from __future__ import annotations

from typing import Any

SERVER_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
_ROLE = """
SELECT current_user AS role, bool_or(r.rolsuper) AS superuser, bool_or(r.rolcreaterole) AS createrole,
       bool_or(r.rolcreatedb) AS createdb
FROM pg_roles AS r WHERE r.rolname IN (current_user, session_user)
"""
_MEMBER_OF = """
SELECT rolname FROM pg_roles WHERE rolname = ANY(%(names)s) AND pg_has_role(current_user, oid, 'USAGE')
ORDER BY rolname
"""
_WRITABLE = """
SELECT n.nspname || '.' || c.relname AS object,
       concat_ws(', ',
         CASE WHEN has_table_privilege(c.oid, 'INSERT') OR has_any_column_privilege(c.oid, 'INSERT') THEN 'INSERT' END,
         CASE WHEN has_table_privilege(c.oid, 'UPDATE') OR has_any_column_privilege(c.oid, 'UPDATE') THEN 'UPDATE' END,
         CASE WHEN has_table_privilege(c.oid, 'DELETE') THEN 'DELETE' END,
         CASE WHEN has_table_privilege(c.oid, 'TRUNCATE') THEN 'TRUNCATE' END,
         CASE WHEN pg_has_role(c.relowner, 'USAGE') THEN 'owner' END) AS rights
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE CASE WHEN c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
                AND c.oid <> 'pg_catalog.pg_settings'::regclass  -- UPDATE on it is SET, for everyone
           THEN has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
                OR has_any_column_privilege(c.oid, 'INSERT, UPDATE') OR pg_has_role(c.relowner, 'USAGE')
           ELSE false END
UNION ALL
SELECT n.nspname || '.' || c.relname, 'UPDATE (sequence)'
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(c.oid, 'UPDATE') ELSE false END
UNION ALL
SELECT 'schema ' || nspname, 'CREATE' FROM pg_namespace
WHERE nspname !~ '^pg_(toast|temp_|toast_temp_)' AND has_schema_privilege(oid, 'CREATE')
UNION ALL
SELECT 'database ' || current_database(), 'CREATE' WHERE has_database_privilege(current_database(), 'CREATE')
ORDER BY 1 LIMIT 6
"""


def refusal(cursor: Any, *, allow_write: bool, allow_superuser: bool) -> str | None:
    """Why this PostgreSQL connection may not run queries, or ``None``.

    Args:
        cursor: a DB-API cursor on the connection (psycopg), inside its transaction.
        allow_write: the project config accepts a role that can write.
        allow_superuser: the project config accepts a superuser (or a role with server-file powers).
    """
    cursor.execute(_ROLE)
    role, superuser, createrole, createdb = cursor.fetchone()
    if not allow_superuser:
        powers = ["a superuser"] if superuser else []
        if not superuser:
            cursor.execute(_MEMBER_OF, {"names": list(SERVER_ROLES)})
            powers += [f"a member of {name}" for (name,) in cursor.fetchall()]
        if powers:
            return (f"role '{role}' is {' and '.join(powers)}: refused (it can read the server's files and pass "
                    "every permission). Connect as a role that may only read, or set allow_superuser = true "
                    "for this connection in the project config")
    if allow_write or superuser:
        return None
    rights = [f"{label}" for label, wanted in (("CREATEROLE", createrole), ("CREATEDB", createdb)) if wanted]
    cursor.execute(_MEMBER_OF, {"names": ["pg_write_all_data"]})
    rights += [f"member of {name}" for (name,) in cursor.fetchall()]
    cursor.execute(_WRITABLE)
    found = cursor.fetchall()
    rights += [f"{what} on {where}" for where, what in found[:5]]
    if not rights:
        return None
    more = " and more" if len(found) > 5 else ""
    return (f"role '{role}' can write: {'; '.join(rights)}{more}. Queries run only on a role that may only read "
            "(GRANT SELECT), or set allow_write = true for this connection in the project config")
