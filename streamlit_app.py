"""Recipe NER Studio: ``streamlit run streamlit_app.py``. The router; pages live in ui/pages."""
import logging

import streamlit as st

from ui.shell import bootstrap, sidebar_status

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
st.set_page_config(page_title="Recipe NER Studio", page_icon=":material/restaurant:", layout="wide")

pages = st.navigation(
    [
        st.Page("ui/pages/label.py", title="Label", icon=":material/label:", default=True),
        st.Page("ui/pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("ui/pages/models.py", title="Models", icon=":material/monitoring:"),
        st.Page("ui/pages/try_it.py", title="Try it", icon=":material/science:"),
        st.Page("ui/pages/data.py", title="Data", icon=":material/database:"),
    ]
)
bootstrap()
sidebar_status()
pages.run()
