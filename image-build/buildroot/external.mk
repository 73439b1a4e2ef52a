include $(sort $(wildcard $(BR2_EXTERNAL_MAMORI_PATH)/package/*/*.mk))
