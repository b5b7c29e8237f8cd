"""The Responses API and Conversations: ``POST /responses`` and what belongs to it, answered by the chat
service through the spec engine (:mod:`.api`), with its typed stream (:mod:`.events`), its hosted tools
(:mod:`.builtin_tools`), conversation items (:mod:`.items`), background responses (:mod:`.background`) and
conversations (:mod:`.conversations`)."""

from mockserver.endpoints.responses import background, conversations
from mockserver.endpoints.responses.api import RESPONDERS

LIFECYCLES = (background.LIFECYCLE, conversations.LIFECYCLE)

__all__ = ["LIFECYCLES", "RESPONDERS"]
