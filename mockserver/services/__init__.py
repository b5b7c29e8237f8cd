"""Services every API family may use, built once in ``AppState``: what families share instead of importing
each other's handlers (the chat generator's request rules, the model directory, the image maker)."""
