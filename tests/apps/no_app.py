"""An app file that forgets to make an App."""

import stgo

page_title = stgo.__version__
