"""What the groups app announces to the apps above it (it imports none of them)."""

from django.dispatch import Signal

#: A member's data cap changed (``group_id``, ``membership_ids``), inside the transaction
#: that saved it. The pool's accounting (``sharedplans``) stops a member now over the cap.
caps_changed = Signal()
