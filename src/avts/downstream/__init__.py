"""What the sync-trained networks are good for beyond sync: embeddings of files and arrays,
the paper's linear-SVM audio probe and its video fine-tuning protocol (Korbar et al. 2018,
Sec. 4.3-4.4). Functions here take a built model and its config; ``avts.api`` loads them."""
