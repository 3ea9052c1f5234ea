"""Import every module that defines tables, so Alembic sees the whole schema."""

from portal import models  # noqa: F401
from portal.accounts import models as _account_models  # noqa: F401
from portal.assistant import models as _assistant_models  # noqa: F401
from portal.backoffice import models as _backoffice_models  # noqa: F401
from portal.cases import models as _case_models  # noqa: F401
from portal.identity import models as _identity_models  # noqa: F401
from portal.notifications import models as _outbox_models  # noqa: F401
from portal.payments_app import models as _payments_models  # noqa: F401
from portal.quality import models as _quality_models  # noqa: F401
from portal.signing import models as _signing_models  # noqa: F401
from portal.staff import models as _staff_models  # noqa: F401
