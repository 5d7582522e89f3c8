"""Session credentials in the data layer: checking tokens and login keys, logging out.

Every check fails closed: forged, malformed, expired, replaced or revoked input gives None.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession

from pykcworkshop.chat import tokens
from pykcworkshop.chat.db.models import User, UserToken
from pykcworkshop.chat.db.queries import get_user_by_id
from pykcworkshop.utils import now


async def authenticate(session: AsyncSession, user_token: object) -> tokens.UserTokenClaims | None:
    """Return the claims of ``user_token`` if it is valid and still the user's current token.

    Fails closed: forged, malformed, expired, replaced or revoked tokens give None.
    """
    claims = tokens.read_user_token(user_token)
    if claims is None:
        return None
    row = await session.scalar(select(UserToken).where(UserToken.user_id == claims.user_id))
    if row is None or row.revoked or row.expires_at <= now():
        return None
    if not tokens.constant_time_equal(row.token, str(user_token)):
        return None
    return claims


async def replace_token(session: AsyncSession, user_id: int) -> str | None:
    """Give ``user_id`` a fresh session token (logout) and return the old one, or None.

    The new token keeps the old one's expiry (logging out never extends a session) and is
    shown to nobody until the next login. The caller commits.
    """
    row = await session.scalar(select(UserToken).where(UserToken.user_id == user_id))
    user = await session.get(User, user_id)
    if row is None or user is None:
        return None
    old = row.token
    row.token = tokens.generate_user_token(user_id=user_id, user_name=user.name, expires_at=row.expires_at)
    await session.flush()
    return old


async def current_tokens(session: AsyncSession, user_ids: Collection[int]) -> dict[int, str]:
    """Return the usable (unrevoked, unexpired) session token of each of ``user_ids``.

    One query for a whole batch: the periodic re-check of open sockets asks it.
    """
    if not user_ids:
        return {}
    query = select(UserToken.user_id, UserToken.token).where(
        UserToken.user_id.in_(sorted(user_ids)),
        UserToken.revoked.is_(False),
        UserToken.expires_at > now(),
    )
    return {user_id: token for user_id, token in (await session.execute(query)).all()}


async def login(session: AsyncSession, login_key: object) -> User | None:
    """Return the user whose login key this is, if their session token is still valid."""
    user_id = tokens.login_key_user_id(login_key)
    if user_id is None:
        return None
    try:
        user = await get_user_by_id(session, user_id)
    except NoResultFound:
        # Hash anyway so a missing user takes as long as a wrong key.
        tokens.check_login_key(str(login_key), "0" * 64)
        return None
    if not user.login_key_hash or not tokens.check_login_key(str(login_key), user.login_key_hash):
        return None
    token = user.token
    if token is None or token.revoked or token.expires_at <= now():
        return None
    return user
