"""The virtual assistant's portal side: chat relay to Rasa, stored conversations, ratings, call-backs."""
