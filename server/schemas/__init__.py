"""The kernel's msgspec shapes, shared by every package: common field types and pages, validators, the
view names, and the portal's settings as everyone reads them. A domain's own schemas live in its
package (``server.<domain>.schemas``)."""
