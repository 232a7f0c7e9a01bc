"""The Streamlit app: pages, the span editor component and what they share."""
