"""Test support: servers, crawls, mail, record builders. Test modules and conftest files import
from here, never from each other, so that any test module can be run, moved or deleted alone."""
